// The layering of GUIDE.md §2 as `npm test` checks it (npm run check:layers, dependency-cruiser):
// this repository passes, and the same rules fail a tree with an import cycle and a pure
// algorithm that imports the store, naming both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// dist/test/layers.test.js -> the repository root.
const ROOT = path.resolve(__dirname, '..', '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');

function check(cwd: string, ...folders: string[]) {
  const run = spawnSync(DEPCRUISE, [...folders, '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

test('lib/ and kernel/ keep the layering: no import cycles, algorithms below store, display below experiments', () => {
  const run = check(ROOT, 'lib', 'kernel');
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /no dependency violations found/);
});

test('the layering check fails on an import cycle and on a pure algorithm that imports the store', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-layers-'));
  try {
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2022', strict: true } }));
    write('lib/store/index.ts', 'export const stored = 1;\n');
    write(
      'lib/prune/a.ts',
      "import { stored } from '../store';\nimport { b } from './b';\nexport const a = () => stored + b;\n",
    );
    write('lib/prune/b.ts', "import { a } from './a';\nexport const b = 2;\nexport const c = () => a();\n");
    const run = check(dir, 'lib');
    assert.notEqual(run.code, 0, run.out);
    assert.match(run.out, /no-circular: lib\/prune\/a\.ts/);
    assert.match(run.out, /algorithms-are-pure: lib\/prune\/a\.ts → lib\/store\/index\.ts/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
