/**
 * Where to inspect when Shift+Tab is pressed inside a call's parentheses: `lmc.trainFrom(|` or
 * `lmc.trainFrom(config, |` should show trainFrom's signature and doc, as IPython does, but the
 * compiler finds no symbol at a `(` or an argument separator.
 */

/**
 * The position just after the callee's name of the innermost
 * call whose open parenthesis precedes `cursor`, or null.
 */
export function calleeEnd(code: string, cursor: number): number | null {
  let depth = 0;
  for (let i = Math.min(cursor, code.length) - 1; i >= 0; i--) {
    const ch = code[i];
    if (ch === ')' || ch === ']' || ch === '}') depth++;
    else if (ch === '[' || ch === '{') {
      if (depth === 0) return null;
      depth--;
    } else if (ch === '(') {
      if (depth > 0) {
        depth--;
        continue;
      }
      // The name right before the parenthesis (spaces allowed between).
      let end = i;
      while (end > 0 && /\s/.test(code[end - 1])) end--;
      return end > 0 && /[\p{L}\p{N}_$]/u.test(code[end - 1]) ? end : null;
    } else if (ch === ';' && depth === 0) {
      // The statement before ends the search.
      return null;
    }
  }
  return null;
}
