/**
 * Plot builders for the paper's figure types. Each takes tidy rows (an array of objects or an
 * arquero table; one row per run and x), averages the runs (mean ± one population std, as the
 * paper's "mean and standard deviation across ... samples"), and returns a Figure with the
 * paper's axis titles. Errors, accuracies and instabilities are fractions unless `percent: false`.
 */
import { figure, updateLayout, type Figure, type PlotlyLayout, type PlotlyTrace } from './figure';
import { formatNumber } from './format';
import {
  PALETTE,
  bandTraces,
  mean,
  numberField,
  rowsOf,
  standardDeviation,
  summarise,
  withAlpha,
  type Row,
  type Series,
} from './series';

/** Options shared by the builders. */
export interface PlotOptions {
  title?: string;
  /** Split lines by this field as well (e.g. 'k', 'density', 'method'). */
  seriesBy?: string;
  /** y values are fractions, plotted as percent (default true). */
  percent?: boolean;
  /** Delta degrees of freedom of the std band (default 0, numpy's np.std). */
  ddof?: number;
}

/** Options of plots against k or epoch. */
export interface StepAxisOptions extends PlotOptions {
  /** The x field: 'k' (default) or 'epoch' (instability or distance throughout training). */
  x?: 'k' | 'epoch';
  /** Unit of k, for the axis title (default 'iterations'). */
  kUnit?: 'iterations' | 'epochs';
  /**
   * 'linear' (default); 'log' (k = 0 cannot be placed and is left out); 'even': the distinct
   * values evenly spaced in order, 0 included, as the paper's k axes are drawn.
   */
  xScale?: 'linear' | 'log' | 'even';
}

/** Options of `accuracyDensityPlot`. */
export interface DensityPlotOptions extends PlotOptions {
  /** The unpruned network: its accuracy over runs, or mean and std. Drawn as a line in a grey band. */
  dense?: readonly number[] | { mean: number; std: number };
  /** Densities are fractions of weights remaining (default) or already percents. */
  densityUnits?: 'fraction' | 'percent';
}

const AXIS = { gridcolor: '#e5e5e5', zeroline: false, showline: true, linecolor: '#444', ticks: 'outside' };
const SPLIT_COLOURS: Record<string, string> = { train: '#9467bd', test: '#d62728' };
const METHOD_NAMES: Record<string, string> = {
  imp: 'IMP',
  'random-prune': 'Random Pruning',
  random_prune: 'Random Pruning',
  randomprune: 'Random Pruning',
  'random-pruning': 'Random Pruning',
  'random-reinit': 'Random Reinit',
  random_reinit: 'Random Reinit',
  randomreinit: 'Random Reinit',
  'random-reinitialization': 'Random Reinit',
};
const METHOD_COLOURS: Record<string, string> = {
  IMP: '#1f77b4',
  'Random Pruning': '#ff7f0e',
  'Random Reinit': '#2ca02c',
};

/** The paper's name for a method key ('random-prune' -> 'Random Pruning'); unknown keys unchanged. */
export function methodName(method: unknown): string {
  const key = String(method);
  return METHOD_NAMES[key.toLowerCase().replace(/\s+/g, '-')] ?? key;
}

/** A layout with the paper's axis titles and a light grid. */
function layoutOf(title: string | undefined, xTitle: string, yTitle: string, extra: PlotlyLayout = {}): PlotlyLayout {
  const { xaxis, yaxis, ...rest } = extra as { xaxis?: object; yaxis?: object };
  return {
    ...(title ? { title: { text: title } } : {}),
    xaxis: { ...AXIS, title: { text: xTitle }, ...xaxis },
    yaxis: { ...AXIS, title: { text: yTitle }, ...yaxis },
    plot_bgcolor: 'white',
    hovermode: 'closest',
    legend: { orientation: 'v' },
    margin: { t: title ? 50 : 20, r: 20 },
    ...rest,
  };
}

/** A colour per distinct value of a series key (first come, first coloured). */
function colourBy(series: readonly Series[], key: (s: Series) => unknown): (s: Series) => string {
  const order = [...new Set(series.map((s) => String(key(s))))];
  return (s) => PALETTE[order.indexOf(String(key(s))) % PALETTE.length];
}

/** "k = 100" for a series field value; the bare value for 'method'. */
function seriesLabel(field: string, value: unknown): string {
  return field === 'method'
    ? methodName(value)
    : `${field} = ${typeof value === 'number' ? formatNumber(value, 4) : String(value)}`;
}

/**
 * Error along the linear path between two trained networks (paper Figures 2 and 6). Rows:
 * {alpha, split: 'train' | 'test', error, run}; one line per split (train purple, test red, as in
 * the paper), or per `seriesBy` value with train dashed.
 */
export function interpolationPlot(input: Iterable<Row> | object, options: PlotOptions = {}): Figure {
  const rows = rowsOf(input);
  const by = options.seriesBy ? [options.seriesBy, 'split'] : ['split'];
  const series = summarise(rows, {
    x: 'alpha',
    y: 'error',
    by,
    run: 'run',
    scale: options.percent === false ? 1 : 100,
    ddof: options.ddof,
    plot: 'interpolationPlot',
  });
  const colour = colourBy(series, (s) => s.keys[0]);
  const traces = series.flatMap((s) => {
    const split = String(s.keys[s.keys.length - 1] ?? '');
    const name = options.seriesBy ? `${seriesLabel(options.seriesBy, s.keys[0])} (${split})` : split;
    const style = options.seriesBy
      ? { colour: colour(s), dash: split === 'train' ? ('dash' as const) : ('solid' as const) }
      : { colour: SPLIT_COLOURS[split] ?? colour(s) };
    return bandTraces({ ...s, name }, style);
  });
  const splits = new Set(series.map((s) => String(s.keys[s.keys.length - 1])));
  const which = splits.size === 1 ? `${capitalise([...splits][0])} ` : '';
  const unit = options.percent === false ? '' : ' (%)';
  return figure(traces, layoutOf(options.title, 'Interpolation', `${which}Error${unit}`, { xaxis: { range: [0, 1] } }));
}

/**
 * Instability against k (paper Figures 3 and 7) or against the epoch for several k (Figure 4:
 * `{x: 'epoch', seriesBy: 'k'}`). Rows: {k | epoch, instability, run, split?}.
 */
export function instabilityPlot(input: Iterable<Row> | object, options: StepAxisOptions = {}): Figure {
  return stepAxisPlot(input, options, 'instability', 'Instability', 'instabilityPlot');
}

/**
 * L2 distance between the two trained copies against k or epoch (paper Appendices D and E).
 * Rows: {k | epoch, distance, run}. Distances are plotted as they are (never scaled).
 */
export function l2DistancePlot(input: Iterable<Row> | object, options: StepAxisOptions = {}): Figure {
  return stepAxisPlot(input, { ...options, percent: false }, 'distance', 'L2 Distance', 'l2DistancePlot');
}

/** Options of `accuracyStepPlot`. */
export interface AccuracyStepOptions extends StepAxisOptions {
  /** The unpruned network's accuracy (over runs, or mean and std): a black line in a grey band. */
  dense?: readonly number[] | { mean: number; std: number };
}

/**
 * Test accuracy against the rewinding step k (the lower panels of paper Figure 7), one line per
 * `seriesBy` value (e.g. 'method') with std bands, the dense network as a grey band. Rows:
 * {k, accuracy, run}.
 */
export function accuracyStepPlot(input: Iterable<Row> | object, options: AccuracyStepOptions = {}): Figure {
  const fig = stepAxisPlot(input, options, 'accuracy', 'Test Accuracy', 'accuracyStepPlot');
  if (options.dense === undefined) return fig;
  const yScale = options.percent === false ? 1 : 100;
  const runs = options.dense as readonly number[];
  const dense = Array.isArray(options.dense)
    ? { mean: mean(runs), std: standardDeviation(runs, options.ddof) }
    : (options.dense as { mean: number; std: number });
  const [m, sd] = [dense.mean * yScale, dense.std * yScale];
  return updateLayout(fig, {
    shapes: [
      {
        type: 'rect',
        xref: 'paper',
        x0: 0,
        x1: 1,
        yref: 'y',
        y0: m - sd,
        y1: m + sd,
        fillcolor: withAlpha('#7f7f7f', 0.25),
        line: { width: 0 },
        layer: 'below',
      },
      { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: m, y1: m, line: { color: 'black', width: 1.5 } },
    ],
  });
}

/** A mean ± std plot of `y` against k or epoch, split by `split` when rows have one and by `seriesBy`. */
function stepAxisPlot(
  input: Iterable<Row> | object,
  options: StepAxisOptions,
  y: string,
  yName: string,
  plot: string,
): Figure {
  const xField = options.x ?? 'k';
  const scaleKind = options.xScale ?? 'linear';
  let rows = rowsOf(input);
  if (scaleKind === 'log') rows = rows.filter((r, i) => numberField(r, xField, i, plot) > 0);
  const hasSplit = rows.some((r) => r.split !== undefined);
  const by = [...(options.seriesBy ? [options.seriesBy] : []), ...(hasSplit ? ['split'] : [])];
  const series = summarise(rows, {
    x: xField,
    y,
    by,
    run: 'run',
    scale: options.percent === false ? 1 : 100,
    ddof: options.ddof,
    plot,
  });
  const colour = colourBy(series, (s) => s.keys[0]);
  const traces = series.flatMap((s) => {
    const split = hasSplit ? String(s.keys[s.keys.length - 1]) : '';
    const label = options.seriesBy ? seriesLabel(options.seriesBy, s.keys[0]) : '';
    const name = label && split ? `${label} (${split})` : label || split;
    const methodColour = options.seriesBy === 'method' ? METHOD_COLOURS[methodName(s.keys[0])] : undefined;
    const style = options.seriesBy
      ? { colour: methodColour ?? colour(s), dash: split === 'train' ? ('dash' as const) : ('solid' as const) }
      : { colour: SPLIT_COLOURS[split] ?? PALETTE[0] };
    return bandTraces({ ...s, name }, style);
  });
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const xaxis =
    scaleKind === 'even'
      ? { type: 'category', categoryorder: 'array', categoryarray: xs }
      : scaleKind === 'log'
        ? { type: 'log' }
        : {};
  const xTitle = xField === 'epoch' ? 'Epoch' : `k (${options.kUnit ?? 'iterations'})`;
  const splits = new Set(series.map((s) => String(s.keys[s.keys.length - 1])));
  const which = hasSplit && splits.size === 1 ? `${capitalise([...splits][0])} ` : '';
  const unit = options.percent === false ? '' : ' (%)';
  return figure(traces, layoutOf(options.title, xTitle, `${which}${yName}${unit}`, { xaxis }));
}

/**
 * Test accuracy against the percent of weights remaining (paper Figures 5 and 8): one line per
 * method (IMP blue, random pruning orange, random reinit green, as in the paper) with std bands,
 * the dense network as a black line in a grey ±1 std band, and a reversed log x axis so that
 * sparsity grows to the right, ticked at the densities present. Rows: {density, accuracy, method, run}.
 */
export function accuracyDensityPlot(input: Iterable<Row> | object, options: DensityPlotOptions = {}): Figure {
  const densityScale = options.densityUnits === 'percent' ? 1 : 100;
  const rows = rowsOf(input).map((r, i) => ({
    ...r,
    percentRemaining: numberField(r, 'density', i, 'accuracyDensityPlot') * densityScale,
  }));
  const yScale = options.percent === false ? 1 : 100;
  const by = [options.seriesBy ?? 'method'];
  const series = summarise(rows, {
    x: 'percentRemaining',
    y: 'accuracy',
    by,
    run: 'run',
    scale: yScale,
    ddof: options.ddof,
    plot: 'accuracyDensityPlot',
  });
  const colour = colourBy(series, (s) => methodName(s.keys[0]));
  const traces: PlotlyTrace[] = series.flatMap((s) => {
    const name = by[0] === 'method' ? methodName(s.keys[0]) : seriesLabel(by[0], s.keys[0]);
    return bandTraces({ ...s, name }, { colour: METHOD_COLOURS[name] ?? colour(s) });
  });
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => b - a);
  const shapes: object[] = [];
  if (options.dense !== undefined && xs.length > 0) {
    const runs = options.dense as readonly number[];
    const dense = Array.isArray(options.dense)
      ? { mean: mean(runs), std: standardDeviation(runs, options.ddof) }
      : (options.dense as { mean: number; std: number });
    const m = dense.mean * yScale;
    const sd = dense.std * yScale;
    shapes.push({
      type: 'rect',
      xref: 'paper',
      x0: 0,
      x1: 1,
      yref: 'y',
      y0: m - sd,
      y1: m + sd,
      fillcolor: withAlpha('#7f7f7f', 0.25),
      line: { width: 0 },
      layer: 'below',
    });
    traces.push({
      type: 'scatter',
      mode: 'lines',
      name: 'Dense network',
      x: [xs[0], xs[xs.length - 1]],
      y: [m, m],
      line: { color: 'black', width: 1.5 },
      hovertemplate: `dense: %{y:.4g} ± ${formatNumber(sd, 3)}<extra></extra>`,
    });
  }
  const ticks = thin(xs, 12);
  const xaxis = {
    type: 'log',
    autorange: 'reversed',
    tickmode: 'array',
    tickvals: ticks,
    ticktext: ticks.map((x) => formatNumber(x, 3)),
  };
  const unit = options.percent === false ? '' : ' (%)';
  return figure(
    traces,
    layoutOf(options.title, 'Percent of Weights Remaining', `Test Accuracy${unit}`, { xaxis, shapes }),
  );
}

/** One split of a measured pair, as `markInstability` draws it (a PairRow of lib/stability has these fields). */
export interface InstabilityMark {
  split: string;
  meanEndpointError: number;
  maxError: number;
  argmaxAlpha: number;
  instability: number;
}

/**
 * `fig` (an interpolationPlot of errors in percent) with each split's instability drawn as Figure 1
 * draws it: a dotted line at the mean endpoint error and an arrow from it up to the highest error
 * on the path, labelled "test instability: +0.40 points", in the split's colour.
 */
export function markInstability(fig: Figure, rows: readonly InstabilityMark[]): Figure {
  return updateLayout(fig, {
    shapes: rows.map((r) => ({
      type: 'line',
      xref: 'x',
      yref: 'y',
      x0: 0,
      x1: 1,
      y0: 100 * r.meanEndpointError,
      y1: 100 * r.meanEndpointError,
      line: { color: SPLIT_COLOURS[r.split], width: 1, dash: 'dot' },
    })),
    annotations: rows.flatMap((r) => {
      // The label sits on the side of the arrow away from the nearer end, so it stays inside the plot.
      const right = r.argmaxAlpha > 0.6;
      return [
        {
          xref: 'x',
          yref: 'y',
          axref: 'x',
          ayref: 'y',
          x: r.argmaxAlpha,
          y: 100 * r.maxError,
          ax: r.argmaxAlpha,
          ay: 100 * r.meanEndpointError,
          showarrow: true,
          arrowhead: 2,
          arrowwidth: 2,
          arrowcolor: SPLIT_COLOURS[r.split],
          text: '',
        },
        {
          xref: 'x',
          yref: 'y',
          x: r.argmaxAlpha,
          y: 100 * r.maxError,
          showarrow: false,
          xanchor: right ? 'right' : 'left',
          yanchor: 'bottom',
          xshift: right ? -6 : 6,
          text: `${r.split} instability: +${(100 * r.instability).toFixed(2)} points`,
          font: { color: SPLIT_COLOURS[r.split] },
        },
      ];
    }),
  });
}

/** Colours of the kinds of network a pair trains that are not a method of Figures 5-8. */
const OTHER_KIND_COLOURS: Record<string, string> = { unpruned: '#d62728', 'stored-mask': '#9467bd' };

/** A kind's colour: the paper's for IMP and the baselines, then unpruned and stored masks, grey for anything else. */
function kindColour(kind: string): string {
  return METHOD_COLOURS[methodName(kind)] ?? OTHER_KIND_COLOURS[kind] ?? '#7f7f7f';
}

/**
 * One marker per instability pair: the L2 distance between its copies at T against its test
 * instability in points, a trace per kind of network (IMP, the random baselines in the paper's
 * colours, unpruned, stored masks), hover text with k and density. Rows: {kind, k, density, l2, testInstability}.
 */
export function l2InstabilityPlot(input: Iterable<Row> | object, options: { title?: string } = {}): Figure {
  const rows = rowsOf(input) as { kind: string; k: number; density: number; l2: number; testInstability: number }[];
  const traces = [...new Set(rows.map((r) => r.kind))].map((kind) => {
    const ofKind = rows.filter((r) => r.kind === kind);
    return {
      type: 'scatter',
      mode: 'markers',
      name: methodName(kind),
      x: ofKind.map((r) => r.l2),
      y: ofKind.map((r) => 100 * r.testInstability),
      text: ofKind.map((r) => `k = ${r.k}, ${(100 * r.density).toFixed(2)}% of weights`),
      marker: { color: kindColour(kind), size: 9, opacity: 0.8 },
    };
  });
  return figure(traces, {
    ...(options.title ? { title: { text: options.title } } : {}),
    xaxis: { title: { text: 'L2 distance between the copies at T' } },
    yaxis: { title: { text: 'Test instability (percentage points)' } },
  });
}

/** At most `max` of the values, evenly picked, first and last kept. */
function thin(values: readonly number[], max: number): number[] {
  if (values.length <= max) return [...values];
  const step = (values.length - 1) / (max - 1);
  return [...new Set(Array.from({ length: max }, (_, i) => values[Math.round(i * step)]))];
}

/** "test" -> "Test". */
function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
