// Tensors and masks: statistics computed right, preview, heatmap, and no tensor leaks.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import {
  MIME_BUNDLE,
  TENSOR_MIME,
  heatmapSvg,
  maskSummary,
  tensorBundle,
  tensorStats,
  toMimeBundle,
  type TensorView,
} from '../lib/display';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('statistics of a hand tensor: min, max, mean, population std, fraction of zeros', () => {
  const t = tf.tensor2d([
    [1, 0, -2],
    [3, 0, 4],
  ]);
  const s = tensorStats(t);
  assert.equal(s.min, -2);
  assert.equal(s.max, 4);
  close(s.mean, 1);
  // values minus mean: 0, -1, -3, 2, -1, 3 -> squares sum 24 -> variance 4 -> std 2
  close(s.std, 2, 1e-5);
  close(s.zeroFraction, 2 / 6);
  assert.equal(s.nonFinite, 0);
  t.dispose();
});

test('int32 and bool tensors have statistics; NaN and Infinity are counted', () => {
  const ints = tf.tensor1d([0, 5, 10], 'int32');
  const bools = tf.tensor1d([true, false, false, true], 'bool');
  const bad = tf.tensor1d([1, NaN, Infinity, 0]);
  close(tensorStats(ints).mean, 5);
  close(tensorStats(bools).zeroFraction, 0.5);
  assert.equal(tensorStats(bad).nonFinite, 2);
  assert.match(String(toMimeBundle(bad)['text/plain']), /non-finite 2/);
  assert.match(String(toMimeBundle(bools)['text/plain']), /true {2}false/);
  tf.dispose([ints, bools, bad]);
});

test('the bundle shows dtype, shape, statistics, a preview and, for 2-D, an SVG heatmap; nothing leaks', () => {
  const t = tf.tensor2d([
    [1, 0, -2],
    [3, 0, 4],
  ]);
  const before = tf.memory().numTensors;
  const bundle = toMimeBundle(t);
  assert.equal(tf.memory().numTensors, before, 'no tensor is left behind');
  const text = String(bundle['text/plain']);
  assert.equal(text.split('\n')[0], 'Tensor float32 [2, 3] (6 values)');
  assert.match(text, /min -2 {2}max 4 {2}mean 1 {2}std 2 {2}zeros 33\.33%/);
  assert.match(text, /1 {2}0 {2}-2\n3 {2}0 {3}4$/);
  const html = String(bundle['text/html']);
  assert.match(html, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox="0 0 3 2"/);
  assert.match(html, /<path fill="#[0-9a-f]{6}" d="M/);
  // The extension's JSON holds the same view: formatted numbers and the heatmap the HTML draws.
  const view = bundle[TENSOR_MIME] as TensorView;
  assert.deepEqual([view.kind, view.dtype, view.shape, view.size], ['Tensor', 'float32', '[2, 3]', 6]);
  assert.deepEqual(view.stats.slice(0, 5), [
    ['min', '-2'],
    ['max', '4'],
    ['mean', '1'],
    ['std', '2'],
    ['zeros', '33.33%'],
  ]);
  assert.deepEqual(view.preview, [
    ['1', '0', '-2'],
    ['3', '0', '4'],
  ]);
  assert.deepEqual([view.heatmap!.rows, view.heatmap!.cols], [2, 3]);
  for (const p of view.heatmap!.paths) {
    assert.match(p.fill, /^#[0-9a-f]{6}$/);
    assert.match(p.d, /^(M\d+ \d+h\d+v1h-\d+z)+$/);
    assert.ok(html.includes(`<path fill="${p.fill}" d="${p.d}"/>`), 'the HTML draws the same paths');
  }
  // No two neighbours in a row share a shade here: one run per cell, six in all.
  assert.equal(
    view.heatmap!.paths.reduce((n, p) => n + p.d.split('M').length - 1, 0),
    6,
  );
  const vector = tf.tensor1d([1, 2]);
  assert.equal((tensorBundle(vector)[TENSOR_MIME] as TensorView).heatmap, null, 'no heatmap below 2-D');
  vector.dispose();
  t.dispose();
});

test('big tensors: a corner preview with gaps, block-mean heatmap, higher ranks seen as 2-D, no leaks', () => {
  const big = tf.randomNormal([300, 784], 0, 1, 'float32', 1);
  const cube = tf.range(0, 2 * 3 * 20).reshape([2, 3, 20]);
  const before = tf.memory().numTensors;
  const html = String(tensorBundle(big)['text/html']);
  const text = String(tensorBundle(cube)['text/plain']);
  assert.equal(tf.memory().numTensors, before);
  assert.match(html, /means of [\d.]+ × [\d.]+ blocks/);
  assert.ok(html.length < 120000, `heatmap stays small (${html.length} characters)`);
  assert.match(text, /values, seen as \[6, 20\]:/);
  assert.match(text, /^ +0 +1 +2 +3 +4 +5 +… +18 +19$/m);
  assert.match(text, /^100 +101 +102 +103 +104 +105 +… +118 +119$/m);
  assert.ok(!String(tensorBundle(cube)['text/html']).includes('<svg'), 'no heatmap beyond 2-D');
  tf.dispose([big, cube]);
});

test('scalars, empty, disposed and variable tensors display without throwing', () => {
  const s = tf.scalar(3.5);
  assert.match(String(toMimeBundle(s)['text/plain']), /Tensor float32 \[\] \(1 value\)[\s\S]*\n3\.5$/);
  const empty = tf.zeros([0, 4]);
  assert.match(String(toMimeBundle(empty)['text/plain']), /\[0, 4\] \(0 values\)/);
  const v = tf.variable(tf.ones([2, 2]), true, 'fc1.kernel');
  assert.match(String(toMimeBundle(v)['text/plain']), /^Variable 'fc1\.kernel' float32 \[2, 2\]/);
  const gone = tf.ones([2]);
  gone.dispose();
  assert.equal(toMimeBundle(gone)['text/plain'], 'Tensor float32 [2] (2 values), disposed');
  tf.dispose([s, empty, v]);
});

test('heatmaps: diverging colours for signed data, sequential for non-negative, equal runs merged', () => {
  const signed = heatmapSvg({ values: [-1, 1], rows: 1, cols: 2 });
  assert.ok(signed.includes('fill="#2166ac"') && signed.includes('fill="#b2182b"'), 'blue for -1, red for +1');
  const mask = heatmapSvg({ values: [1, 1, 1, 0], rows: 1, cols: 4 });
  assert.ok(mask.includes('d="M0 0h3v1h-3z"'), 'three equal cells are one run');
  assert.ok(mask.includes('(light)') && mask.includes('(dark)'));
});

test('maskSummary: kept, total and density per layer and overall, as a table; leaks nothing', () => {
  const masks = new Map<string, tf.Tensor>([
    [
      'fc1.kernel',
      tf.tensor2d([
        [1, 0],
        [0, 0],
      ]),
    ],
    ['fc2.kernel', tf.tensor1d([1, 1, 1, 0, 1, 1])],
  ]);
  const before = tf.memory().numTensors;
  const summary = maskSummary(masks);
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(
    summary.layers.map((l) => [l.name, l.kept, l.total, l.density]),
    [
      ['fc1.kernel', 1, 4, 0.25],
      ['fc2.kernel', 5, 6, 5 / 6],
    ],
  );
  assert.equal(summary.kept, 6);
  assert.equal(summary.total, 10);
  assert.equal(summary.density, 0.6);
  for (const m of masks.values()) m.dispose();
  // The summary was read when made: it still displays after the masks are gone.
  const bundle = summary[MIME_BUNDLE]();
  assert.match(String(bundle['text/html']), /fc1\.kernel<\/td><td[^>]*>\[2, 2\]<\/td>/);
  assert.match(String(bundle['text/html']), /60\.00%/);
  assert.equal(
    bundle['text/plain'],
    [
      'layer        kept  total  density',
      'fc1.kernel      1      4   25.00%',
      'fc2.kernel      5      6   83.33%',
      'all layers      6     10   60.00%',
    ].join('\n'),
  );
});
