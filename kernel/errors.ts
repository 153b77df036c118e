/**
 * Error content for execute replies and `error` messages: ename, evalue and a traceback whose
 * frames point at the cell and line the user wrote ("In[3], line 2") with the line shown, as
 * IPython does. tslab printed errors as stderr text, which frontends cannot tell from output.
 */
import { inspect } from 'node:util';
import * as path from 'node:path';
import { cellLineAt, type CellRegistry } from './cell-lines';

/** The error fields of an execute reply and of an iopub `error` message. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A TypeScript diagnostic as tslab reports it (positions one-based, already in the user's columns). */
export interface CellDiagnostic {
  /** Empty for the cell itself; a path relative to the notebook folder for an imported .ts file. */
  file: string;
  line: number;
  column: number;
  message: string;
}

/** The message of tslab's executor when an interrupt abandons a pending cell. */
export const ABANDONED_MESSAGE = 'Interrupted asynchronously';

/** Frames from these places are the kernel's machinery, not the user's code. */
const MACHINERY = [
  `${path.sep}tslab${path.sep}dist${path.sep}`,
  path.resolve(__dirname) + path.sep,
  'node:internal',
  '(node:vm',
  'at node:vm',
];

const CELL_FRAME = /(In\[[^\]]+\]):(\d+):(\d+)/;

/** The lines around `line` (one-based), IPython style, with an arrow at `line`. */
export function sourceContext(source: string, line: number, before = 2, after = 1): string[] {
  const lines = source.split('\n');
  const out: string[] = [];
  const width = String(Math.min(lines.length, line + after)).length;
  for (let i = Math.max(1, line - before); i <= Math.min(lines.length, line + after); i++) {
    const mark = i === line ? '---->' : '     ';
    out.push(`${mark} ${String(i).padStart(width)} | ${lines[i - 1]}`);
  }
  return out;
}

/** The error of a cell that did not compile. */
export function compileError(diagnostics: readonly CellDiagnostic[], cellName: string, source: string): ErrorContent {
  const where = (d: CellDiagnostic) => `${d.file === '' ? cellName : d.file}, line ${d.line}, column ${d.column}`;
  const first = diagnostics[0];
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : '';
  const traceback: string[] = [
    `CompileError: ${diagnostics.length} TypeScript error${diagnostics.length > 1 ? 's' : ''}`,
  ];
  for (const d of diagnostics) {
    traceback.push('', `${where(d)}: ${d.message}`);
    if (d.file === '') {
      traceback.push(...sourceContext(source, d.line, 0, 0));
      traceback.push(' '.repeat(`----> ${d.line} | `.length + d.column - 1) + '^');
    }
  }
  return { ename: 'CompileError', evalue: `${where(first)}: ${first.message}${more}`, traceback };
}

/** The error of a cell that threw (or rejected) `error`. */
export function runtimeError(error: unknown, cells: CellRegistry): ErrorContent {
  if (!(error instanceof Error)) {
    const evalue = inspect(error, { depth: 2 });
    return { ename: 'Uncaught', evalue, traceback: [`Uncaught ${evalue}`] };
  }
  if (error.message === ABANDONED_MESSAGE) {
    const evalue = 'the cell stopped waiting; work that ignores lmc.interruptSignal() may still be running';
    return { ename: 'Interrupted', evalue, traceback: [`Interrupted: ${evalue}`] };
  }
  if ((error as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED') {
    // tslab runs a cell's synchronous part with breakOnSigint: the signal itself stopped it.
    const evalue = "the cell's synchronous code was stopped by the interrupt";
    return { ename: 'Interrupted', evalue, traceback: [`Interrupted: ${evalue}`] };
  }
  const ename = error.name || error.constructor?.name || 'Error';
  const evalue = error.message;
  const traceback = [`${ename}: ${evalue}`];
  let context: string[] = [];
  for (const frame of framesOf(error)) {
    if (MACHINERY.some((m) => frame.includes(m))) continue;
    const match = CELL_FRAME.exec(frame);
    const cell = match ? cells.get(match[1]) : undefined;
    if (!match || !cell) {
      traceback.push(frame);
      continue;
    }
    const jsLine = Number(match[2]);
    // The call of tslab's wrapper function, on the script's last line: machinery too.
    if (cell.javascript.split('\n')[jsLine - 1]?.startsWith('})(__tslab__')) continue;
    const line = cellLineAt(cell.javascript, jsLine, Number(match[3]));
    traceback.push(frame.replace(CELL_FRAME, line === null ? `${match[1]}` : `${match[1]}, line ${line}`));
    // The innermost frame in a cell is where the user looks first.
    if (context.length === 0 && line !== null)
      context = ['', `${match[1]}, line ${line}:`, ...sourceContext(cell.source, line)];
  }
  traceback.push(...context);
  if (error.cause !== undefined) {
    const cause =
      error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : inspect(error.cause, { depth: 1 });
    traceback.push('', `Caused by: ${cause}`);
  }
  return { ename, evalue, traceback };
}

/** The "    at ..." lines of an error's stack. */
function framesOf(error: Error): string[] {
  return (error.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
}
