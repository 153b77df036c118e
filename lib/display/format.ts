/** Text formatting shared by the display modules: escaping, numbers, durations. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON for embedding inside an inline <script>: `<` becomes \u003c so that no string in the data
 * (a trace name, an axis title) can close the script element, and U+2028/U+2029 are escaped
 * because older engines treat them as line terminators inside string literals.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * A number with `digits` significant digits, trailing zeros dropped; exponent notation outside
 * [1e-4, 1e6) where fixed notation would need a long run of zeros. Integers print in full.
 */
export function formatNumber(value: number, digits = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e6) return stripZeros(value.toPrecision(digits));
  const [mantissa, exponent] = value.toExponential(Math.max(digits - 1, 0)).split('e');
  return `${stripZeros(mantissa)}e${exponent}`;
}

/** "0.1200" -> "0.12", "1.000" -> "1"; leaves integers and exponents alone. */
function stripZeros(text: string): string {
  if (!text.includes('.') || text.includes('e')) return text;
  return text.replace(/\.?0+$/, '');
}

/** A fraction as a percentage with `decimals` decimals: 0.1678 -> "16.8%". */
export function formatPercent(fraction: number, decimals = 1): string {
  if (!Number.isFinite(fraction)) return '?';
  return `${(fraction * 100).toFixed(decimals)}%`;
}
export { formatDuration } from '../io/duration';

/** Pads `text` to `width` on the left (right-aligned) or right (left-aligned). */
export function pad(text: string, width: number, align: 'left' | 'right'): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/** Cuts `text` to at most `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(max - 1, 0))}…`;
}
