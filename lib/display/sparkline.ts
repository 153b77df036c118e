/** Small inline SVG line charts (a loss curve beside a progress bar): no script, no library. */
import { escapeHtml, formatNumber } from './format';

/** One point of a curve. */
export interface CurvePoint {
  x: number;
  y: number;
}

/** Options of `sparklineSvg`. */
export interface SparklineOptions {
  width?: number;
  height?: number;
  /** Most points drawn (default 200): longer curves are averaged in buckets. */
  maxPoints?: number;
  colour?: string;
  /** Label left of the range text ("loss"). */
  label?: string;
}

/** `points` reduced to at most `max` by averaging consecutive buckets (finite points only). */
export function decimate(points: readonly CurvePoint[], max: number): CurvePoint[] {
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (finite.length <= max) return finite;
  const out: CurvePoint[] = [];
  for (let b = 0; b < max; b++) {
    const start = Math.floor((b * finite.length) / max);
    const end = Math.floor(((b + 1) * finite.length) / max);
    let sx = 0;
    let sy = 0;
    for (let i = start; i < end; i++) {
      sx += finite[i].x;
      sy += finite[i].y;
    }
    out.push({ x: sx / (end - start), y: sy / (end - start) });
  }
  return out;
}

/** An SVG polyline of the points scaled to the box, with the y range written under it. */
export function sparklineSvg(points: readonly CurvePoint[], options: SparklineOptions = {}): string {
  const width = options.width ?? 240;
  const height = options.height ?? 48;
  const pts = decimate(points, options.maxPoints ?? 200);
  if (pts.length === 0) return '';
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = 2;
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  // SVG y grows downwards: the largest value sits at the top.
  const sy = (y: number) => pad + (1 - (y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const path = pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  const dot =
    pts.length === 1
      ? `<circle cx="${sx(pts[0].x).toFixed(1)}" cy="${sy(pts[0].y).toFixed(1)}" r="2" ` +
        `fill="${options.colour ?? '#2166ac'}"/>`
      : '';
  const label = options.label ? `${options.label} ` : '';
  const caption = `${label}${formatNumber(y1, 3)} (top) … ${formatNumber(y0, 3)} (bottom)`;
  return (
    '<div class="lmc-sparkline">' +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `style="background:#fafafa;border:1px solid #ddd;">` +
    `<polyline fill="none" stroke="${options.colour ?? '#2166ac'}" stroke-width="1.5" points="${path}"/>${dot}</svg>` +
    `<div style="color:#666;font-size:85%;">${escapeHtml(caption)}</div>` +
    '</div>'
  );
}
