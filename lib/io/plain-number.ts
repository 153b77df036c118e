/**
 * Whether `text` is a plain decimal number (0.035, -2, 3.5e-2): Number() would also take hex
 * (0x10), Infinity and blanks, which are refused wherever a number is typed in.
 */
export function isPlainDecimal(text: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim());
}
