/**
 * The public API as a notebook meets it: `lmc.` holds the verbs and one namespace per layer, the
 * README lists exactly those, and every exported function or class has a doc comment (what
 * Shift+Tab shows in the kernel).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const INDEX = path.join(ROOT, 'lib', 'index.ts');

interface Exported {
  name: string;
  kind: 'namespace' | 'function' | 'class' | 'value' | 'type';
  documented: boolean;
}

/** Every name reachable from lib/index.ts: the top level, then each namespace's members as `ns.name`. */
function publicApi(): Exported[] {
  const program = ts.createProgram([INDEX], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const out: Exported[] = [];
  const walk = (module: ts.Symbol, prefix: string) => {
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = target.declarations?.[0];
      const name = prefix + exported.name;
      const ours = declaration !== undefined && !declaration.getSourceFile().fileName.includes('node_modules');
      if (ours && ts.isSourceFile(declaration)) {
        out.push({ name, kind: 'namespace', documented: true });
        if (!prefix) walk(target, `${name}.`);
        continue;
      }
      const kind =
        target.flags & ts.SymbolFlags.Function
          ? 'function'
          : target.flags & ts.SymbolFlags.Class
            ? 'class'
            : target.flags & ts.SymbolFlags.Value
              ? 'value'
              : 'type';
      out.push({ name, kind, documented: !ours || target.getDocumentationComment(checker).length > 0 });
    }
  };
  walk(checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!, '');
  return out;
}

const api = publicApi();

test('lmc. holds the verbs and the namespaces the README lists, and nothing else', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'), readme.indexOf('\n## ', readme.indexOf('## Library') + 1));
  const listed = new Set(
    [...section.matchAll(/^\| `lmc\.(\w+)`(?:, `lmc\.(\w+)`)?/gm)].flatMap((m) => m.slice(1).filter(Boolean)),
  );
  const top = api.filter((e) => !e.name.includes('.')).map((e) => e.name);
  assert.deepEqual([...top].sort(), [...listed].sort(), 'README "Library" lists the top level of lib/index.ts');
  assert.ok(top.length <= 30, `the top level stays a screenful (${top.length} names)`);
  for (const ns of ['data', 'models', 'train', 'prune', 'stability', 'store', 'experiments', 'display', 'notebook']) {
    assert.equal(api.find((e) => e.name === ns)?.kind, 'namespace', `lmc.${ns} is a namespace`);
  }
});

test('every exported function and class has a doc comment', () => {
  const undocumented = api
    .filter((e) => (e.kind === 'function' || e.kind === 'class') && !e.documented)
    .map((e) => e.name);
  assert.deepEqual(undocumented, []);
  assert.ok(api.filter((e) => e.kind === 'function').length > 150, 'the walk reaches into the namespaces');
});

test('the executor plumbing is not public: plans, the registry, the worker pool, state bytes', () => {
  const names = new Set(api.map((e) => e.name));
  for (const internal of [
    'experiments.unitDefinition',
    'experiments.UnitPool',
    'experiments.encodeState',
    'experiments.TRUNK_UNIT',
    'experiments.cachedUnit',
    'display.escapeHtml',
  ]) {
    assert.ok(!names.has(internal), `${internal} is internal`);
  }
  for (const verb of [
    'instabilitySweep',
    'experiments.instabilitySweep',
    'experiments.experimentContext',
    'display.figure',
  ]) {
    assert.ok(names.has(verb), `${verb} is public`);
  }
});

test("a cell can keep any public function's result: every return type can be named in declarations", () => {
  // The kernel compiles each cell with declarations on, so `const ctx = lmc.notebookContext(...)` fails
  // ("... but cannot be named") when a public function returns a type its module does not export.
  // Inside the checkout, as a kernel cell is: its packages (arquero's types) resolve from there.
  const dir = fs.mkdtempSync(path.join(ROOT, 'dist', '.api-cell-'));
  const cell = path.join(dir, 'cell.ts');
  const functions = api.filter((e) => e.kind === 'function');
  fs.writeFileSync(
    cell,
    [
      `import * as lmc from ${JSON.stringify(INDEX.replace(/\.ts$/, ''))};`,
      'declare function resultOf<F extends (...args: never[]) => unknown>(f: F): ReturnType<F>;',
      ...functions.map((f, i) => `export const result${i} = resultOf(lmc.${f.name});`),
    ].join('\n'),
  );
  const program = ts.createProgram([cell], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    declaration: true,
    emitDeclarationOnly: true,
    skipLibCheck: true,
    strict: true,
  });
  const problems = program.getDeclarationDiagnostics(program.getSourceFile(cell)).map((d) => {
    const line = d.start === undefined ? -1 : d.file!.getLineAndCharacterOfPosition(d.start).line;
    return `${functions[line - 2]?.name ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(problems, []);
  assert.ok(functions.length > 150);
});
