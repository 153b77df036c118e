/**
 * Matrices as small inline SVG heatmaps: no script and no library, so they render everywhere
 * (also in untrusted notebooks and on GitHub). Big matrices are reduced to block means first.
 */
import type { HeatmapData } from '../io/wire';
import { escapeHtml, formatNumber } from './format';

/** A row-major matrix of numbers. */
export interface Matrix {
  values: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** Options of `heatmapSvg`. */
export interface HeatmapOptions {
  /** Most cells drawn (default 4096); larger matrices are averaged in blocks. */
  maxCells?: number;
  /** Most cells along one side (default 96). */
  maxSide?: number;
  /** Largest drawn width and height in pixels (default 480 x 320). */
  maxWidth?: number;
  maxHeight?: number;
}

/** Shades per colour ramp: neighbouring cells of one shade merge into one rect, keeping the SVG small. */
const SHADES = 32;

/** The grid size a rows x cols matrix is reduced to (aspect ratio kept, within both limits). */
export function heatmapGrid(rows: number, cols: number, maxCells = 4096, maxSide = 96): { rows: number; cols: number } {
  const scale = Math.min(1, Math.sqrt(maxCells / Math.max(rows * cols, 1)));
  return {
    rows: Math.max(1, Math.min(rows, maxSide, Math.round(rows * scale))),
    cols: Math.max(1, Math.min(cols, maxSide, Math.round(cols * scale))),
  };
}

/** Block means of `m` on a rows x cols grid (each output cell averages the inputs it covers). */
export function blockMeans(m: Matrix, rows: number, cols: number): Matrix {
  if (rows === m.rows && cols === m.cols) return m;
  const values = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const r0 = Math.floor((i * m.rows) / rows);
    const r1 = Math.max(r0 + 1, Math.floor(((i + 1) * m.rows) / rows));
    for (let j = 0; j < cols; j++) {
      const c0 = Math.floor((j * m.cols) / cols);
      const c1 = Math.max(c0 + 1, Math.floor(((j + 1) * m.cols) / cols));
      let sum = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) sum += m.values[r * m.cols + c];
      values[i * cols + j] = sum / ((r1 - r0) * (c1 - c0));
    }
  }
  return { values, rows, cols };
}

/** The colour scale of a matrix: diverging around 0 when it has both signs, else sequential. */
function colourScale(values: ArrayLike<number>): { lo: number; hi: number; diverging: boolean } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return { lo: 0, hi: 1, diverging: false };
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return { lo: -m, hi: m, diverging: true };
  }
  return { lo, hi: hi > lo ? hi : lo + 1, diverging: false };
}

/** Linear interpolation between two RGB colours. */
function mix(a: readonly number[], b: readonly number[], t: number): string {
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * t));
  return `#${c.map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

const WHITE = [247, 247, 247];
const BLUE = [33, 102, 172];
const RED = [178, 24, 43];
const DARK = [8, 48, 107];
const LIGHT = [247, 251, 255];

/** The colour of a value: blue-white-red for diverging scales, light-to-dark blue otherwise; grey for NaN. */
function colourOf(v: number, scale: { lo: number; hi: number; diverging: boolean }): string {
  if (!Number.isFinite(v)) return '#bbbbbb';
  const t = Math.min(1, Math.max(0, (v - scale.lo) / (scale.hi - scale.lo)));
  const shade = Math.round(t * SHADES) / SHADES;
  if (!scale.diverging) return mix(LIGHT, DARK, shade);
  return shade < 0.5 ? mix(BLUE, WHITE, shade * 2) : mix(WHITE, RED, shade * 2 - 1);
}

/** The heatmap of a matrix (row 0 at the top), reduced to block means when it is large. */
export function heatmapData(matrix: Matrix, options: HeatmapOptions = {}): HeatmapData {
  const grid = heatmapGrid(matrix.rows, matrix.cols, options.maxCells, options.maxSide);
  const m = blockMeans(matrix, grid.rows, grid.cols);
  const scale = colourScale(m.values);
  const cell = Math.max(
    1,
    Math.min(12, Math.floor(Math.min((options.maxWidth ?? 480) / m.cols, (options.maxHeight ?? 320) / m.rows))),
  );
  // One path per shade, one "M x y h w v 1 h -w z" run per stretch of equal shade: about a
  // quarter of the text of a rect per cell.
  const runs = new Map<string, string[]>();
  for (let r = 0; r < m.rows; r++) {
    let start = 0;
    let colour = colourOf(m.values[r * m.cols], scale);
    for (let c = 1; c <= m.cols; c++) {
      const next = c < m.cols ? colourOf(m.values[r * m.cols + c], scale) : '';
      if (next === colour) continue;
      const list = runs.get(colour) ?? [];
      list.push(`M${start} ${r}h${c - start}v1h-${c - start}z`);
      runs.set(colour, list);
      start = c;
      colour = next;
    }
  }
  const reduced = m.rows !== matrix.rows || m.cols !== matrix.cols;
  const legend =
    `colour: ${formatNumber(scale.lo, 3)} ` +
    `${scale.diverging ? '(blue) … 0 (white) … ' : '(light) … '}${formatNumber(scale.hi, 3)} ` +
    `${scale.diverging ? '(red)' : '(dark)'}` +
    (reduced
      ? `; means of ${formatNumber(matrix.rows / m.rows, 3)} × ${formatNumber(matrix.cols / m.cols, 3)} blocks`
      : '');
  return {
    rows: m.rows,
    cols: m.cols,
    width: m.cols * cell,
    height: m.rows * cell,
    paths: [...runs].map(([fill, list]) => ({ fill, d: list.join('') })),
    legend,
  };
}

/**
 * An SVG heatmap of a matrix (row 0 at the top), with a one-line legend of the colour range and,
 * when the matrix was reduced, the block size.
 */
export function heatmapSvg(matrix: Matrix, options: HeatmapOptions = {}): string {
  return heatmapDataSvg(heatmapData(matrix, options));
}

/** The SVG text of a heatmap's data. */
export function heatmapDataSvg(h: HeatmapData): string {
  const paths = h.paths.map((p) => `<path fill="${p.fill}" d="${p.d}"/>`).join('');
  return (
    '<div class="lmc-heatmap">' +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${h.width}" height="${h.height}" ` +
    `viewBox="0 0 ${h.cols} ${h.rows}" ` +
    `preserveAspectRatio="none" shape-rendering="crispEdges" style="border:1px solid #ccc;">${paths}</svg>` +
    `<div style="color:#666;font-size:85%;">${escapeHtml(h.legend)}</div>` +
    '</div>'
  );
}
