/**
 * From tidy rows to plotted lines: group rows into series, average the runs at each x (mean and
 * standard deviation), and draw each series as a mean line inside a shaded ±1 std band.
 */
import type { PlotlyTrace } from './figure';
import { isArqueroTable } from './table';

/** A tidy row: one measurement of one run. */
export type Row = Record<string, unknown>;

/** Rows as an array, from an array, any iterable of rows, or an arquero table. */
export function rowsOf(input: Iterable<Row> | object): Row[] {
  if (Array.isArray(input)) return input as Row[];
  if (isArqueroTable(input)) return (input as unknown as { objects(): Row[] }).objects();
  if (typeof (input as Iterable<Row>)[Symbol.iterator] === 'function') return Array.from(input as Iterable<Row>);
  throw new Error('plot: expected rows (an array of objects) or an arquero table');
}

/** The number in `row[field]`, or an error naming the plot, the row and the field. */
export function numberField(row: Row, field: string, index: number, plot: string): number {
  const value = row[field];
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : NaN;
  if (Number.isNaN(n)) {
    const keys = Object.keys(row).join(', ');
    throw new Error(
      `${plot}: row ${index} has ${field} = ${JSON.stringify(value) ?? String(value)}; ` +
        `expected a number (row keys: ${keys})`,
    );
  }
  return n;
}

/** Mean of values. */
export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Standard deviation with `ddof` delta degrees of freedom (0: population, numpy's default). */
export function standardDeviation(values: readonly number[], ddof = 0): number {
  if (values.length - ddof <= 0) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - ddof));
}

/** Mean and std over runs at one x. */
export interface SummaryPoint {
  x: number;
  mean: number;
  std: number;
  /** Runs averaged. */
  n: number;
}

/** One line of a plot: its name and its points sorted by x. */
export interface Series {
  name: string;
  /** The values of the `by` fields shared by the series' rows. */
  keys: unknown[];
  points: SummaryPoint[];
}

/** Options of `summarise`. */
export interface SummariseOptions {
  x: string;
  y: string;
  /** Fields whose values split rows into series (in order of first appearance). */
  by: readonly string[];
  /** Field naming the run; two rows of one run at one x of one series are an error. */
  run?: string;
  /** y is multiplied by this (100 for fractions shown as percent). */
  scale?: number;
  ddof?: number;
  /** Name of the plot, for error messages. */
  plot: string;
}

/** Groups rows into series by `by` and summarises y over runs at each x. */
export function summarise(rows: readonly Row[], options: SummariseOptions): Series[] {
  const scale = options.scale ?? 1;
  const groups = new Map<
    string,
    { name: string; keys: unknown[]; byX: Map<number, number[]>; runs: Map<number, Set<string>> }
  >();
  rows.forEach((row, i) => {
    const keys = options.by.map((f) => row[f]);
    const name = keys.map((k) => String(k ?? '')).join(' · ');
    const x = numberField(row, options.x, i, options.plot);
    const y = numberField(row, options.y, i, options.plot) * scale;
    let g = groups.get(name);
    if (!g) groups.set(name, (g = { name, keys, byX: new Map(), runs: new Map() }));
    if (options.run !== undefined && row[options.run] !== undefined) {
      const run = String(row[options.run]);
      const seen = g.runs.get(x) ?? new Set<string>();
      if (seen.has(run)) {
        throw new Error(
          `${options.plot}: two rows for ${options.run} ${run} at ${options.x} = ` +
            `${x}${name ? ` in '${name}'` : ''}; each run needs one row per ${options.x}`,
        );
      }
      g.runs.set(x, seen.add(run));
    }
    g.byX.set(x, [...(g.byX.get(x) ?? []), y]);
  });
  return [...groups.values()].map((g) => ({
    name: g.name,
    keys: g.keys,
    points: [...g.byX]
      .sort((a, b) => a[0] - b[0])
      .map(([x, ys]) => ({ x, mean: mean(ys), std: standardDeviation(ys, options.ddof), n: ys.length })),
  }));
}

/** Line colours (matplotlib's, as in the paper's figures). */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** `#rrggbb` as `rgba(r, g, b, alpha)`. */
export function withAlpha(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(colour)?.[1];
  if (!hex) return colour;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** How a series is drawn. */
export interface LineStyle {
  colour: string;
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
  /** Draw markers at the points (default: when the series has at most 30 points). */
  markers?: boolean;
}

/**
 * A series as traces: when any x has more than one run, the lower (mean - std) and upper
 * (mean + std) edges of the band, the upper filled down to the lower ('tonexty' fills to the
 * trace just before it, so the two stay adjacent), then the mean line. The band joins the line's
 * legend group, so clicking the legend entry hides both.
 */
export function bandTraces(series: Series, style: LineStyle): PlotlyTrace[] {
  const x = series.points.map((p) => p.x);
  const group = series.name || 'series';
  const line: PlotlyTrace = {
    type: 'scatter',
    mode: (style.markers ?? series.points.length <= 30) ? 'lines+markers' : 'lines',
    name: series.name,
    legendgroup: group,
    // An unnamed single series needs no legend entry.
    showlegend: series.name !== '',
    x,
    y: series.points.map((p) => p.mean),
    line: { color: style.colour, dash: style.dash ?? 'solid', width: 2 },
    marker: { color: style.colour, size: 5 },
    customdata: series.points.map((p) => [p.std, p.n]),
    hovertemplate:
      `${series.name ? `${series.name}<br>` : ''}%{x}: %{y:.4g} ± %{customdata[0]:.3g} ` +
      `(n=%{customdata[1]})<extra></extra>`,
  };
  if (!series.points.some((p) => p.n > 1)) return [line];
  const edge = (sign: number): PlotlyTrace => ({
    type: 'scatter',
    mode: 'lines',
    x,
    y: series.points.map((p) => p.mean + sign * p.std),
    line: { width: 0, color: style.colour },
    legendgroup: group,
    showlegend: false,
    hoverinfo: 'skip',
  });
  return [edge(-1), { ...edge(1), fill: 'tonexty', fillcolor: withAlpha(style.colour, 0.2) }, line];
}
