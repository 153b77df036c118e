// Plot builders for the paper's figures: traces, mean and std numbers, axes, from rows and tables;
// Figure 1's instability marks; L2 distance against instability per pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import {
  accuracyDensityPlot,
  instabilityPlot,
  interpolationPlot,
  l2DistancePlot,
  l2InstabilityPlot,
  markInstability,
  summarise,
  type PlotlyTrace,
} from '../lib/display';

const close = (a: unknown, b: number, tol = 1e-9) => assert.ok(Math.abs(Number(a) - b) <= tol, `${a} != ${b}`);
const named = (data: readonly PlotlyTrace[], name: string) =>
  data.find((t) => t.name === name && t.showlegend !== false)!;
const axisTitle = (axis: unknown) => (axis as { title: { text: string } }).title.text;

/** Rows of three runs: error(alpha) = base + run * 0.01, train lower than test. */
function interpolationRows() {
  const rows: { alpha: number; split: string; error: number; run: number }[] = [];
  for (const run of [0, 1, 2]) {
    for (const alpha of [0, 0.5, 1]) {
      rows.push({ alpha, split: 'test', error: 0.1 + (alpha === 0.5 ? 0.3 : 0) + run * 0.01, run });
      rows.push({ alpha, split: 'train', error: 0.05 + run * 0.02, run });
    }
  }
  return rows;
}

test('interpolationPlot: per split a band (lower, upper) and a mean line, in percent, paper axes', () => {
  const fig = interpolationPlot(interpolationRows());
  assert.equal(fig.data.length, 6, 'two splits x (lower edge, upper edge, mean line)');
  const test = named(fig.data, 'test');
  assert.deepEqual(test.x, [0, 0.5, 1]);
  // test at alpha 0.5: 40, 41, 42 % -> mean 41, population std sqrt(2/3)
  close((test.y as number[])[1], 41, 1e-9);
  const [lower, upper] = fig.data.slice(0, 2);
  close((upper.y as number[])[1], 41 + Math.sqrt(2 / 3), 1e-9);
  close((lower.y as number[])[1], 41 - Math.sqrt(2 / 3), 1e-9);
  assert.equal(upper.fill, 'tonexty');
  assert.equal((test.line as { color: string }).color, '#d62728', 'test red as in the paper');
  assert.equal((named(fig.data, 'train').line as { color: string }).color, '#9467bd', 'train purple');
  assert.equal(axisTitle(fig.layout.xaxis), 'Interpolation');
  assert.equal(axisTitle(fig.layout.yaxis), 'Error (%)');
  const onlyTest = interpolationPlot(
    interpolationRows().filter((r) => r.split === 'test'),
    { ddof: 1 },
  );
  assert.equal(axisTitle(onlyTest.layout.yaxis), 'Test Error (%)');
  close((onlyTest.data[1].y as number[])[1], 42, 1e-9); // sample std of 40, 41, 42 is 1
});

test('interpolationPlot from an arquero table, split by k, train dashed; runs given twice are an error', () => {
  const rows = [0, 100].flatMap((k) => interpolationRows().map((r) => ({ ...r, k })));
  const fig = interpolationPlot(aq.from(rows), { seriesBy: 'k' });
  assert.deepEqual(
    fig.data.filter((t) => t.showlegend !== false).map((t) => t.name),
    ['k = 0 (test)', 'k = 0 (train)', 'k = 100 (test)', 'k = 100 (train)'],
  );
  assert.equal((named(fig.data, 'k = 100 (train)').line as { dash: string }).dash, 'dash');
  assert.throws(
    () => interpolationPlot([...interpolationRows(), interpolationRows()[0]]),
    /two rows for run 0 at alpha = 0 in 'test'/,
  );
  assert.throws(
    () => interpolationPlot([{ alpha: 0, split: 'test', err: 0.1 }]),
    /row 0 has error = undefined; expected a number \(row keys: alpha, split, err\)/,
  );
});

test('instabilityPlot: mean ± std against k, x scales (log drops k = 0, even keeps it in order)', () => {
  const rows = [0, 100, 2000].flatMap((k) =>
    [0, 1, 2].map((run) => ({ k, run, instability: k === 0 ? 0.5 + run * 0.1 : 0.01 * run })),
  );
  const fig = instabilityPlot(rows);
  assert.equal(fig.data.length, 3);
  const line = fig.data[2];
  assert.deepEqual(line.x, [0, 100, 2000]);
  close((line.y as number[])[0], 60, 1e-9);
  close((fig.data[1].y as number[])[0], 60 + Math.sqrt(200 / 3), 1e-9);
  assert.equal(axisTitle(fig.layout.xaxis), 'k (iterations)');
  assert.equal(axisTitle(fig.layout.yaxis), 'Instability (%)');
  const log = instabilityPlot(rows, { xScale: 'log', kUnit: 'epochs' });
  assert.deepEqual(log.data[2].x, [100, 2000]);
  assert.equal((log.layout.xaxis as { type: string }).type, 'log');
  assert.equal(axisTitle(log.layout.xaxis), 'k (epochs)');
  const even = instabilityPlot(rows, { xScale: 'even' });
  assert.deepEqual((even.layout.xaxis as { categoryarray: number[] }).categoryarray, [0, 100, 2000]);
  // Figure 4: instability throughout training, one line per k.
  const through = instabilityPlot(
    rows.map((r) => ({ ...r, epoch: r.k / 100, k: r.run })),
    { x: 'epoch', seriesBy: 'k' },
  );
  assert.equal(axisTitle(through.layout.xaxis), 'Epoch');
  assert.deepEqual(
    through.data.map((t) => t.name),
    ['k = 0', 'k = 1', 'k = 2'],
    'one run per line: no bands',
  );
});

test('instabilityPlot with train and test rows and methods colours lines like the paper', () => {
  const rows = ['imp', 'random-prune'].flatMap((method) =>
    [0, 1].flatMap((run) => ['train', 'test'].map((split) => ({ k: 0, run, split, method, instability: 0.1 }))),
  );
  const fig = instabilityPlot(rows, { seriesBy: 'method' });
  const names = fig.data.filter((t) => t.showlegend !== false).map((t) => t.name);
  assert.deepEqual(names, ['IMP (train)', 'IMP (test)', 'Random Pruning (train)', 'Random Pruning (test)']);
  assert.equal((named(fig.data, 'Random Pruning (test)').line as { color: string }).color, '#ff7f0e');
});

test('accuracyDensityPlot: methods with bands, the dense band, reversed log axis of percent remaining', () => {
  const rows = [];
  for (const method of ['imp', 'random-reinit']) {
    for (const density of [1, 0.8, 0.64, 0.512]) {
      for (const run of [0, 1])
        rows.push({ method, density, run, accuracy: (method === 'imp' ? 0.98 : 0.95) - (1 - density) * 0.01 * run });
    }
  }
  const fig = accuracyDensityPlot(rows, { dense: [0.98, 0.99, 0.97] });
  const imp = named(fig.data, 'IMP');
  assert.deepEqual(imp.x, [51.2, 64, 80, 100]);
  close((imp.y as number[])[0], (98 + 98 - 0.488) / 2, 1e-9);
  assert.equal((imp.line as { color: string }).color, '#1f77b4');
  assert.equal((named(fig.data, 'Random Reinit').line as { color: string }).color, '#2ca02c');
  const dense = named(fig.data, 'Dense network');
  assert.deepEqual(dense.y, [98, 98]);
  const [band] = fig.layout.shapes as { y0: number; y1: number; xref: string }[];
  close(band.y0, 98 - Math.sqrt(2 / 3), 1e-9);
  close(band.y1, 98 + Math.sqrt(2 / 3), 1e-9);
  assert.equal(band.xref, 'paper');
  const xaxis = fig.layout.xaxis as {
    type: string;
    autorange: string;
    tickvals: number[];
    ticktext: string[];
    title: { text: string };
  };
  assert.equal(xaxis.type, 'log');
  assert.equal(xaxis.autorange, 'reversed');
  assert.deepEqual(xaxis.ticktext, ['100', '80', '64', '51.2']);
  assert.equal(xaxis.title.text, 'Percent of Weights Remaining');
  assert.equal(axisTitle(fig.layout.yaxis), 'Test Accuracy (%)');
});

test('l2DistancePlot: distances unscaled against k or epoch', () => {
  const rows = [0, 1].flatMap((run) => [0, 500].map((k) => ({ k, run, distance: 10 - k / 100 + run })));
  const fig = l2DistancePlot(rows);
  assert.deepEqual(fig.data[2].y, [10.5, 5.5]);
  assert.equal(axisTitle(fig.layout.yaxis), 'L2 Distance');
  const byEpoch = l2DistancePlot(
    rows.map(({ k, ...r }) => ({ ...r, epoch: k })),
    { x: 'epoch' },
  );
  assert.equal(axisTitle(byEpoch.layout.xaxis), 'Epoch');
});

test('summarise: series in order of first appearance, points sorted by x, n counted', () => {
  const series = summarise(
    [
      { g: 'b', x: 2, y: 1 },
      { g: 'a', x: 1, y: 2 },
      { g: 'b', x: 1, y: 3 },
      { g: 'b', x: 1, y: 5 },
    ],
    { x: 'x', y: 'y', by: ['g'], plot: 'test' },
  );
  assert.deepEqual(
    series.map((s) => s.name),
    ['b', 'a'],
  );
  assert.deepEqual(series[0].points, [
    { x: 1, mean: 4, std: 1, n: 2 },
    { x: 2, mean: 1, std: 0, n: 1 },
  ]);
});

test('markInstability: per split a dotted line at the mean endpoint error, an arrow up to the top, in points', () => {
  const fig = markInstability(interpolationPlot(interpolationRows()), [
    { split: 'test', meanEndpointError: 0.1, maxError: 0.4, argmaxAlpha: 0.5, instability: 0.3 },
    { split: 'train', meanEndpointError: 0.05, maxError: 0.06, argmaxAlpha: 0.75, instability: 0.01 },
  ]);
  const shapes = fig.layout.shapes as { y0: number; y1: number; line: { color: string; dash: string } }[];
  const lines = shapes.map((s) => [s.y0, s.y1, s.line.color, s.line.dash]);
  assert.deepEqual(lines, [
    [10, 10, '#d62728', 'dot'],
    [5, 5, '#9467bd', 'dot'],
  ]);
  const [arrow, label, , trainLabel] = fig.layout.annotations as Record<string, unknown>[];
  const head = [arrow.x, arrow.y, arrow.ax, arrow.ay, arrow.showarrow, arrow.arrowcolor];
  assert.deepEqual(head, [0.5, 40, 0.5, 10, true, '#d62728']);
  assert.equal(label.text, 'test instability: +30.00 points');
  assert.deepEqual([label.xanchor, label.xshift], ['left', 6], 'below α = 0.6 the label sits right of the arrow');
  const train = [trainLabel.text, trainLabel.xanchor, trainLabel.xshift];
  assert.deepEqual(train, ['train instability: +1.00 points', 'right', -6]);
  assert.equal(fig.data.length, interpolationPlot(interpolationRows()).data.length, 'the curves are unchanged');
});

test('l2InstabilityPlot: a marker trace per kind as they come, paper colours, points, k and density on hover', () => {
  const fig = l2InstabilityPlot(
    aq.from([
      { kind: 'imp', k: 0, density: 0.035, l2: 1.5, testInstability: 0.002 },
      { kind: 'unpruned', k: 100, density: 1, l2: 12, testInstability: 0.01 },
      { kind: 'imp', k: 100, density: 0.035, l2: 1, testInstability: 0.001 },
      { kind: 'mystery', k: 0, density: 0.5, l2: 3, testInstability: 0 },
    ]),
    { title: 'pairs' },
  );
  const traces = fig.data.map((t) => [t.name, t.mode, (t.marker as { color: string }).color]);
  assert.deepEqual(traces, [
    ['IMP', 'markers', '#1f77b4'],
    ['unpruned', 'markers', '#d62728'],
    ['mystery', 'markers', '#7f7f7f'],
  ]);
  const [imp] = fig.data;
  assert.deepEqual(
    [imp.x, imp.y],
    [
      [1.5, 1],
      [0.2, 0.1],
    ],
  );
  assert.deepEqual(imp.text, ['k = 0, 3.50% of weights', 'k = 100, 3.50% of weights']);
  assert.equal((fig.layout.title as { text: string }).text, 'pairs');
  assert.equal(axisTitle(fig.layout.xaxis), 'L2 distance between the copies at T');
  assert.equal(axisTitle(fig.layout.yaxis), 'Test instability (percentage points)');
});
