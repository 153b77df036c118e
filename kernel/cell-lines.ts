/**
 * Maps errors back to the lines of the cell that the user wrote. tslab compiles a cell to
 * JavaScript whose lines do not match the TypeScript (imports become requires, exports are
 * appended, types vanish) and runs every cell as "evalmachine.<anonymous>", so a stack frame
 * says neither which cell nor which line. Two cheap fixes, both invisible to the user:
 *
 * - each statement of the cell is prefixed with a comment marker `/*@L<line>*\/`, which the
 *   TypeScript emitter carries into the JavaScript: the nearest marker before a frame's position
 *   is the statement's line in the cell;
 * - the script runs under the file name `In[<n>]`, so frames say which cell they are in (also
 *   for a function defined in one cell and called from another).
 */
import { createRequire } from 'node:module';
import vm = require('node:vm');
import type * as TS from '@tslab/typescript-for-tslab';

/** The TypeScript that tslab compiles with (resolved through tslab, which pins it). */
export const ts: typeof TS = createRequire(require.resolve('tslab/package.json'))('@tslab/typescript-for-tslab');

/** A cell with line markers, and where they were put (to undo their effect on diagnostic columns). */
export interface InstrumentedCell {
  code: string;
  /** Markers as inserted: zero-based line, zero-based column in `code`, length. */
  markers: { line: number; column: number; length: number }[];
}

const MARKER = /\/\*@L(\d+)\*\//g;

/**
 * Prefixes every statement of `source` (nested ones too) with a marker naming its one-based line,
 * and spells out shorthand properties (`{ scale }` becomes `{ scale: scale }`, the same object):
 * tslab rewrites a reference to an earlier cell's variable as `exports.scale`, but its checker
 * resolves a shorthand property to the property, not the variable, so `{ scale }` threw
 * "scale is not defined" whenever `scale` came from an earlier cell.
 */
export function instrument(source: string): InstrumentedCell {
  const file = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const inserts = new Map<number, string>();
  const add = (pos: number, text: string) => inserts.set(pos, (inserts.get(pos) ?? '') + text);
  const statementStarts = new Set<number>();
  const visit = (node: TS.Node): void => {
    const statements = (node as { statements?: TS.NodeArray<TS.Statement> }).statements;
    if (statements) for (const s of statements) statementStarts.add(s.getStart(file));
    if (ts.isShorthandPropertyAssignment(node)) add(node.name.end, `: ${node.name.text}`);
    ts.forEachChild(node, visit);
  };
  visit(file);
  // tslab runs a cell as an async function only when its checker reports a top-level await, and it
  // misses nested ones (`await (await p).y()` ran as a plain function: "SyntaxError: missing ) after
  // argument list"). A leading `await 0;` in such a cell is always seen, and changes nothing else.
  if (file.statements.length > 0 && hasTopLevelAwait(file)) add(file.statements[0].getStart(file), 'await 0;');
  // A statement's marker goes before anything else inserted at the same position.
  for (const start of statementStarts) {
    const { line } = file.getLineAndCharacterOfPosition(start);
    inserts.set(start, `/*@L${line + 1}*/` + (inserts.get(start) ?? ''));
  }
  let code = '';
  let from = 0;
  let shift = 0;
  const markers: InstrumentedCell['markers'] = [];
  for (const at of [...inserts.keys()].sort((a, b) => a - b)) {
    const text = inserts.get(at)!;
    const { line, character } = file.getLineAndCharacterOfPosition(at);
    code += source.slice(from, at) + text;
    // Columns shift only by the insertions earlier on the same line.
    shift = markers.length > 0 && markers[markers.length - 1].line === line ? shift : 0;
    markers.push({ line, column: character + shift, length: text.length });
    shift += text.length;
    from = at;
  }
  code += source.slice(from);
  return { code, markers };
}

/** True when `file` awaits outside any function or class (an await expression or `for await`). */
function hasTopLevelAwait(file: TS.SourceFile): boolean {
  const search = (node: TS.Node): boolean => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return false;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier !== undefined)) return true;
    return ts.forEachChild(node, search) ?? false;
  };
  return search(file);
}

/** The column (zero-based) in the original cell of a zero-based column of the instrumented one. */
export function originalColumn(cell: InstrumentedCell, line: number, column: number): number {
  let original = column;
  for (const m of cell.markers) {
    if (m.line === line && m.column + m.length <= column) original -= m.length;
  }
  return original;
}

/** The one-based cell line of the statement that contains a one-based position in the JavaScript run. */
export function cellLineAt(javascript: string, line: number, column: number): number | null {
  const lines = javascript.split('\n');
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const text = i === line - 1 ? lines[i].slice(0, column - 1) : lines[i];
    let found: number | null = null;
    for (const m of text.matchAll(MARKER)) found = Number(m[1]);
    if (found !== null) return found;
  }
  return null;
}

/** A cell as run: what the user wrote and the JavaScript that ran under `filename`. */
export interface CellRecord {
  filename: string;
  source: string;
  javascript: string;
}

/** The cells run so far, by file name, so that any frame can be mapped (bounded: old cells are forgotten). */
export class CellRegistry {
  private readonly cells = new Map<string, CellRecord>();

  constructor(private readonly capacity = 1000) {}

  add(record: CellRecord): void {
    this.cells.delete(record.filename);
    this.cells.set(record.filename, record);
    if (this.cells.size > this.capacity) this.cells.delete(this.cells.keys().next().value as string);
  }

  get(filename: string): CellRecord | undefined {
    return this.cells.get(filename);
  }
}

type RunInThisContext = typeof vm.runInThisContext;

/**
 * Calls `body` (tslab's `execute`, which runs the cell synchronously before its first await)
 * with `vm.runInThisContext` giving the cell's script `filename` and reporting the JavaScript.
 * tslab's executor is the only caller that passes breakOnSigint; other scripts are untouched.
 */
export function runNamed<T>(filename: string, onScript: (javascript: string) => void, body: () => T): T {
  const module = vm as unknown as { runInThisContext: RunInThisContext };
  const original = module.runInThisContext;
  module.runInThisContext = ((code: string, options?: vm.RunningCodeOptions | string) => {
    if (typeof options === 'object' && options.breakOnSigint) {
      onScript(code);
      return original.call(vm, code, { ...options, filename });
    }
    return original.call(vm, code, options);
  }) as RunInThisContext;
  try {
    return body();
  } finally {
    module.runInThisContext = original;
  }
}
