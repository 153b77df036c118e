// Lint rules run by `npm test` (npm run lint): typescript-eslint's recommended set, one import
// statement per module (a type-only import beside it is allowed), and lines of at most 120 characters
// (Prettier wraps code to 120; strings and comments are written to fit).
import tseslint from 'typescript-eslint';
import stylistic from '@stylistic/eslint-plugin';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.venv/**', 'native/**', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      // A variable a closure reads before its one assignment stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // A leading underscore names what a destructuring leaves out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // require() where a test patches a module's own object (node:fs/promises, node:vm), or reads a
      // package's package.json; optional packages are loaded by name through one loader function.
      '@typescript-eslint/no-require-imports': ['error', { allow: ['^node:', '^tslab/', '^arquero$'] }],
      '@stylistic/max-len': ['error', { code: 120, tabWidth: 2 }],
    },
  },
);
