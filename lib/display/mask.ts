/**
 * Pruning masks at a glance: per layer, how many weights survive, and overall. Counts are read
 * once when the summary is made, so it stays valid after the masks are disposed.
 */
import { tf } from '../tf';
import { MIME_BUNDLE, type Displayable, type MimeBundle } from './bundle';
import { escapeHtml, formatPercent, pad } from './format';

/** One layer's share of surviving weights. */
export interface LayerDensity {
  name: string;
  shape: number[];
  /** Entries of the mask that are nonzero (weights kept). */
  kept: number;
  total: number;
  /** kept / total. */
  density: number;
}

/** Densities of a set of masks: per layer and over all of them. Displays as a table. */
export interface MaskSummary extends Displayable {
  readonly layers: readonly LayerDensity[];
  readonly kept: number;
  readonly total: number;
  /** Surviving fraction over all masked weights (0.8^n after n rounds of 20% IMP). */
  readonly density: number;
}

/** Summarises masks (parameter name -> 1 keep / 0 pruned), in the map's order. */
export function maskSummary(masks: ReadonlyMap<string, tf.Tensor>): MaskSummary {
  const entries = [...masks];
  const counts = entries.length === 0 ? [] : readCounts(entries.map(([, m]) => m));
  const layers = entries.map(([name, m], i): LayerDensity => ({
    name,
    shape: [...m.shape],
    kept: Math.round(counts[i]),
    total: m.size,
    density: m.size === 0 ? NaN : Math.round(counts[i]) / m.size,
  }));
  const kept = layers.reduce((s, l) => s + l.kept, 0);
  const total = layers.reduce((s, l) => s + l.total, 0);
  const summary = {
    layers,
    kept,
    total,
    density: total === 0 ? NaN : kept / total,
    [MIME_BUNDLE]: (): MimeBundle => maskSummaryBundle(summary),
  };
  return Object.freeze(summary);
}

/** Nonzero entries of each mask, in one read from the backend (int32: exact beyond 2^24). */
function readCounts(masks: tf.Tensor[]): number[] {
  const stacked = tf.tidy(() => tf.stack(masks.map((m) => tf.sum(tf.cast(tf.notEqual(m, 0), 'int32')))));
  const counts = Array.from(stacked.dataSync());
  stacked.dispose();
  return counts;
}

/** A horizontal bar of width proportional to a density. */
function densityBar(density: number): string {
  const width = Number.isFinite(density) ? Math.round(Math.min(1, Math.max(0, density)) * 100) : 0;
  return (
    `<div style="width:100px;height:9px;background:#eee;"><div ` +
    `style="width:${width}px;height:9px;background:#2166ac;"></div></div>`
  );
}

/** The MIME bundle of a mask summary: a table of layers plus the overall density. */
export function maskSummaryBundle(summary: Pick<MaskSummary, 'layers' | 'kept' | 'total' | 'density'>): MimeBundle {
  const cell = 'padding:2px 8px;';
  const rows = [
    ...summary.layers,
    { name: 'all layers', shape: [] as number[], kept: summary.kept, total: summary.total, density: summary.density },
  ];
  const headings = ['layer', 'shape', 'kept', 'total', 'density', '']
    .map(
      (h, i) =>
        `<th style="${cell}border-bottom:1px solid #888;text-align:${i >= 2 && i <= 4 ? 'right' : 'left'};">${h}</th>`,
    )
    .join('');
  const html =
    '<table class="lmc-mask-summary" style="border-collapse:collapse;font-variant-numeric:tabular-nums;">' +
    `<thead><tr>${headings}</tr></thead><tbody>` +
    rows
      .map((l, i) => {
        const last = i === rows.length - 1;
        const style = `${cell}${last ? 'border-top:1px solid #888;font-weight:bold;' : ''}`;
        return (
          `<tr><td style="${style}text-align:left;">${escapeHtml(l.name)}</td>` +
          `<td style="${style}text-align:left;">${last ? '' : escapeHtml(`[${l.shape.join(', ')}]`)}</td>` +
          `<td style="${style}text-align:right;">${l.kept}</td><td style="${style}text-align:right;">${l.total}</td>` +
          `<td style="${style}text-align:right;">${formatPercent(l.density, 2)}</td><td ` +
          `style="${style}">${densityBar(l.density)}</td></tr>`
        );
      })
      .join('') +
    '</tbody></table>';
  const nameWidth = Math.max(5, ...rows.map((l) => l.name.length));
  const numWidth = Math.max(5, ...rows.map((l) => String(l.total).length));
  const text = [
    `${pad('layer', nameWidth, 'left')}  ${pad('kept', numWidth, 'right')}  ${pad('total', numWidth, 'right')}  ` +
      `density`,
    ...rows.map(
      (l) =>
        `${pad(l.name, nameWidth, 'left')}  ${pad(String(l.kept), numWidth, 'right')}  ` +
        `${pad(String(l.total), numWidth, 'right')}  ${pad(formatPercent(l.density, 2), 7, 'right')}`,
    ),
  ].join('\n');
  return { 'text/html': html, 'text/plain': text };
}
