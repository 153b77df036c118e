/**
 * Tensors in notebooks: shape, dtype, summary statistics (min, max, mean, std, fraction of
 * zeros, non-finite count), a corner preview of the values, and 2-D tensors as a heatmap.
 * Statistics are computed on the tensor's own backend; only a few numbers and a bounded sample
 * are read back, so showing a 25-million-weight layer copies no 100 MB array. Leaks nothing.
 */
import { tf } from '../tf';
import { registerDisplay, type MimeBundle } from './bundle';
import { escapeHtml, formatNumber, formatPercent, pad } from './format';
import { heatmapData, heatmapDataSvg } from './heatmap';
import { TENSOR_MIME, type TensorView } from '../io/wire';

/** Summary statistics of a numeric tensor (population std; NaN when the tensor is empty). */
export interface TensorStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Fraction of entries exactly zero (1 - density for masks). */
  zeroFraction: number;
  /** Entries that are NaN or infinite (min, max, mean and std are then NaN). */
  nonFinite: number;
}

/** A preview of values: some leading (and trailing) rows and columns of the tensor seen as 2-D. */
interface Preview {
  cells: string[][];
  /** Row and column positions of the "…" gaps (-1: none). */
  rowGap: number;
  colGap: number;
}

const NUMERIC = new Set(['float32', 'int32', 'bool']);
/** Above this many entries, the heatmap reads a strided sample rather than the whole matrix. */
const FULL_READ_LIMIT = 1 << 22;

/** True for TensorFlow.js tensors of lmc-lab's engine (variables included). */
export function isTensor(value: unknown): value is tf.Tensor {
  return value instanceof tf.Tensor;
}

/** Summary statistics of a numeric tensor (float32, int32 or bool), computed on its backend. */
export function tensorStats(tensor: tf.Tensor): TensorStats {
  if (!NUMERIC.has(tensor.dtype))
    throw new Error(`display: no statistics for dtype ${tensor.dtype}; expected float32, int32 or bool`);
  if (tensor.size === 0) return { min: NaN, max: NaN, mean: NaN, std: NaN, zeroFraction: NaN, nonFinite: 0 };
  // Counts in int32: a float32 sum stops counting exactly past 2^24 entries.
  const [moments, counts] = tf.tidy(() => {
    const flat = tf.reshape(tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32'), [-1]);
    const { mean, variance } = tf.moments(flat);
    const zeros = tf.sum(tf.cast(tf.equal(flat, 0), 'int32'));
    const nonFinite = tf.sum(tf.cast(tf.logicalNot(tf.isFinite(flat)), 'int32'));
    return [tf.stack([tf.min(flat), tf.max(flat), mean, tf.sqrt(variance)]), tf.stack([zeros, nonFinite])];
  });
  const [min, max, mean, std] = Array.from(moments.dataSync());
  const [zeros, nonFinite] = Array.from(counts.dataSync());
  moments.dispose();
  counts.dispose();
  return { min, max, mean, std, zeroFraction: zeros / tensor.size, nonFinite };
}

/** Indices 0..n-1, or the first `head` and last `tail` of them when n is larger than head + tail + 1. */
function pickIndices(n: number, head: number, tail: number): { indices: number[]; gap: number } {
  if (n <= head + tail + 1) return { indices: [...Array(n).keys()], gap: -1 };
  return { indices: [...Array(head).keys(), ...Array.from({ length: tail }, (_, i) => n - tail + i)], gap: head };
}

/** The tensor viewed as rows x cols (leading dimensions flattened into rows). */
function asMatrixShape(tensor: tf.Tensor): [number, number] {
  if (tensor.rank === 0) return [1, 1];
  const cols = tensor.shape[tensor.rank - 1];
  return [cols === 0 ? 0 : tensor.size / cols, cols];
}

/** Corner values of the tensor (as rows x cols), formatted. */
function previewOf(tensor: tf.Tensor, digits: number): Preview {
  const [rows, cols] = asMatrixShape(tensor);
  const r = pickIndices(rows, 5, 2);
  const c = pickIndices(cols, 6, 2);
  if (rows === 0 || cols === 0) return { cells: [], rowGap: -1, colGap: -1 };
  const picked = tf.tidy(() => {
    const m = tf.reshape(tensor, [rows, cols]);
    return tf.gather(tf.gather(m, tf.tensor1d(r.indices, 'int32'), 0), tf.tensor1d(c.indices, 'int32'), 1);
  });
  const values = picked.dataSync() as ArrayLike<number>;
  picked.dispose();
  const format = (v: number) => (tensor.dtype === 'bool' ? (v ? 'true' : 'false') : formatNumber(v, digits));
  const cells = r.indices.map((_, i) => c.indices.map((__, j) => format(values[i * c.indices.length + j])));
  return { cells, rowGap: r.gap, colGap: c.gap };
}

/** Preview cells with "…" inserted at the gaps. */
function withGaps(p: Preview): string[][] {
  const rows = p.cells.map((row) => (p.colGap < 0 ? row : [...row.slice(0, p.colGap), '…', ...row.slice(p.colGap)]));
  if (p.rowGap >= 0 && rows.length > 0)
    rows.splice(
      p.rowGap,
      0,
      rows[0].map(() => '⋮'),
    );
  return rows;
}

/** A bounded sample of a 2-D tensor as a row-major array (strided when it is very large). */
function matrixSample(tensor: tf.Tensor): { values: Float32Array; rows: number; cols: number } {
  const [rows, cols] = tensor.shape;
  const stride = tensor.size > FULL_READ_LIMIT ? Math.ceil(Math.sqrt(tensor.size / FULL_READ_LIMIT)) : 1;
  const sample = tf.tidy(() => {
    const x = tensor.dtype === 'float32' ? tensor : tf.cast(tensor, 'float32');
    return stride === 1 ? tf.clone(x) : tf.stridedSlice(x, [0, 0], [rows, cols], [stride, stride]);
  });
  const values = sample.dataSync() as Float32Array;
  const [r, c] = sample.shape;
  sample.dispose();
  return { values, rows: r, cols: c };
}

/** "[784, 300]" */
function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Statistics as label/value pairs. */
function statsPairs(s: TensorStats, digits: number): [string, string][] {
  const pairs: [string, string][] = [
    ['min', formatNumber(s.min, digits)],
    ['max', formatNumber(s.max, digits)],
    ['mean', formatNumber(s.mean, digits)],
    ['std', formatNumber(s.std, digits)],
    ['zeros', formatPercent(s.zeroFraction, 2)],
  ];
  if (s.nonFinite > 0) pairs.push(['non-finite', String(s.nonFinite)]);
  return pairs;
}

/**
 * The MIME bundle of a tensor: lmc-lab's tensor JSON (drawn by the extension in trusted and
 * untrusted notebooks alike: JupyterLab's sanitizer strips the SVG of untrusted HTML), HTML (stats,
 * preview, heatmap for 2-D) for other frontends, and plain text.
 */
export function tensorBundle(tensor: tf.Tensor, digits = 4): MimeBundle {
  const kind = tensor instanceof tf.Variable ? `Variable '${tensor.name}'` : 'Tensor';
  const sizeText = `${tensor.size} value${tensor.size === 1 ? '' : 's'}`;
  const head = `${kind} ${tensor.dtype} ${shapeText(tensor.shape)} (${sizeText})`;
  if (tensor.isDisposed) return { 'text/plain': `${head}, disposed` };
  if (!NUMERIC.has(tensor.dtype)) {
    return { 'text/plain': `${head}\n${tensor.size <= 100 ? tensor.toString() : '(no preview for this dtype)'}` };
  }
  const stats = tensorStats(tensor);
  const pairs = statsPairs(stats, digits);
  const preview = withGaps(previewOf(tensor, digits));
  const widths = preview.length > 0 ? preview[0].map((_, c) => Math.max(...preview.map((row) => row[c].length))) : [];
  const previewText = preview.map((row) => row.map((t, c) => pad(t, widths[c], 'right')).join('  ')).join('\n');
  const seenAs = tensor.rank > 2 ? `values, seen as [${asMatrixShape(tensor).join(', ')}]:` : 'values:';
  const text = [head, pairs.map(([k, v]) => `${k} ${v}`).join('  '), seenAs, previewText].join('\n');

  const statsHtml = pairs
    .map(
      ([k, v]) =>
        `<td style="padding:1px 10px 1px 0;color:#666;">${escapeHtml(k)}</td>` +
        `<td style="padding:1px 14px 1px 0;text-align:right;">${escapeHtml(v)}</td>`,
    )
    .join('');
  const previewHtml = preview
    .map(
      (row) =>
        `<tr>${row.map((t) => `<td style="padding:0 6px;text-align:right;">${escapeHtml(t)}</td>`).join('')}</tr>`,
    )
    .join('');
  const heatmap = tensor.rank === 2 && tensor.size > 0 ? heatmapData(matrixSample(tensor)) : null;
  const view: TensorView = {
    kind,
    dtype: tensor.dtype,
    shape: shapeText(tensor.shape),
    size: tensor.size,
    stats: pairs,
    seenAs,
    preview,
    heatmap,
  };
  const html =
    '<div class="lmc-tensor" style="font-variant-numeric:tabular-nums;">' +
    `<div><b>${escapeHtml(kind)}</b> ${escapeHtml(tensor.dtype)} ${escapeHtml(shapeText(tensor.shape))} <span ` +
    `style="color:#666;">(${tensor.size} values)</span></div>` +
    `<table style="border-collapse:collapse;margin:4px 0;"><tr>${statsHtml}</tr></table>` +
    '<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;">' +
    `<div><div style="color:#666;font-size:85%;">${escapeHtml(seenAs)}</div><table ` +
    `style="border-collapse:collapse;font-family:monospace;font-size:90%;">${previewHtml}</table></div>` +
    (heatmap ? heatmapDataSvg(heatmap) : '') +
    '</div></div>';
  return { [TENSOR_MIME]: view, 'text/html': html, 'text/plain': text };
}

registerDisplay(isTensor, (value) => tensorBundle(value as tf.Tensor));
