/**
 * Names echoed in error messages, with what cannot be seen made visible: a name copied from a web
 * page or a PDF can carry a zero-width space, a byte-order mark or a non-breaking space, and
 * "unknown preset "lenet_mnist"" is no help when the difference is invisible.
 */

/** `text` in double quotes, with control, format and non-ASCII space characters written as \u{hex}. */
export function visible(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch !== ' ' && /[\p{Cc}\p{Cf}\p{Z}]/u.test(ch)) out += `\\u{${ch.codePointAt(0)!.toString(16)}}`;
    else out += ch;
  }
  return `"${out}"`;
}
