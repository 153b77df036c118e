/**
 * is_complete for TypeScript: "complete" when the cell parses, "incomplete" when the parser ran
 * out of input (an open bracket, a dangling operator, an open template literal), "invalid" when
 * it failed anywhere else. tslab answers "complete" for every syntax error, so a console
 * cannot tell a finished-but-wrong cell from one that needs another line.
 */
import { ts } from './cell-lines';

/** The content of an is_complete_reply. */
export interface IsCompleteReply {
  status: 'complete' | 'incomplete' | 'invalid';
  /** For "incomplete": what to indent the next line with. */
  indent?: string;
}

/** At the end of input but not continuable: a quoted string cannot go on to the next line (a template literal can). */
const CLOSED_AT_END = new Set([
  1002, // Unterminated string literal
]);

/** Classifies `code` as a console would need it. */
export function isComplete(code: string): IsCompleteReply {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const diagnostics =
    (file as unknown as { parseDiagnostics?: { start: number; length: number; code: number }[] }).parseDiagnostics ??
    [];
  if (diagnostics.length === 0) return { status: 'complete' };
  const end = code.trimEnd().length;
  const atEnd = (d: { start: number; length: number; code: number }) =>
    d.length === 0 && d.start >= end && !CLOSED_AT_END.has(d.code);
  const open = diagnostics.every(atEnd);
  // Two blank lines end the input, as in IPython: the user wants to see the error.
  if (!open || /\n[ \t]*\n[ \t]*$/.test(code)) return { status: 'invalid' };
  return { status: 'incomplete', indent: nextIndent(code) };
}

/** The last line's indentation, one level deeper after an opening bracket. */
function nextIndent(code: string): string {
  const last = code.slice(code.lastIndexOf('\n') + 1);
  const current = /^[ \t]*/.exec(last)?.[0] ?? '';
  return /[[{(]\s*$/.test(last) ? `${current}  ` : current;
}
