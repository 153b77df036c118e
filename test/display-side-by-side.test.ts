// Two figures as one with two panels (notebook 08: Figure 3 beside the L2 distance): every trace
// on its own panel's axes, each panel's axis settings and title kept, shapes moved with their panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracyStepPlot, figure, instabilityPlot, l2DistancePlot, sideBySide } from '../lib/display';

const pairs = [0, 25, 100].flatMap((k) => [
  { k, split: 'test', instability: 0.3 / (k + 1), run: '0.0' },
  { k, split: 'train', instability: 0.2 / (k + 1), run: '0.0' },
]);
const distances = [0, 25, 100].map((k) => ({ k, distance: 10 - k / 20, run: '0.0' }));
const axis = (layout: Record<string, unknown>, name: string) => layout[name] as Record<string, unknown>;

test('sideBySide puts the left figure on x/y and the right on x2/y2, each over its half of the width', () => {
  const left = instabilityPlot(pairs, { xScale: 'even', title: 'Instability' });
  const right = l2DistancePlot(distances, { xScale: 'even', title: 'L2' });
  const both = sideBySide(left, right, { title: 'Figure 3' });
  assert.equal(both.data.length, left.data.length + right.data.length);
  assert.ok(both.data.slice(0, left.data.length).every((t) => t.xaxis === 'x' && t.yaxis === 'y'));
  assert.ok(both.data.slice(left.data.length).every((t) => t.xaxis === 'x2' && t.yaxis === 'y2'));
  assert.deepEqual(
    both.data.map((t) => t.y),
    [...left.data, ...right.data].map((t) => t.y),
    'the values are untouched',
  );
  assert.deepEqual(axis(both.layout, 'xaxis').domain, [0, 0.45]);
  assert.deepEqual(axis(both.layout, 'xaxis2').domain, [0.55, 1]);
  assert.equal(axis(both.layout, 'xaxis2').anchor, 'y2');
  assert.equal(axis(both.layout, 'yaxis2').anchor, 'x2');
  // Each panel keeps its own axes: the even k scale and the y titles.
  assert.equal(axis(both.layout, 'xaxis2').type, 'category');
  assert.deepEqual(axis(both.layout, 'yaxis2').title, axis(right.layout, 'yaxis').title);
  assert.deepEqual(axis(both.layout, 'yaxis').title, axis(left.layout, 'yaxis').title);
  assert.deepEqual((both.layout.title as { text: string }).text, 'Figure 3');
});

test("sideBySide writes each figure's title above its own panel", () => {
  const both = sideBySide(instabilityPlot(pairs, { title: 'Instability' }), l2DistancePlot(distances, { title: 'L2' }));
  const notes = both.layout.annotations as { text: string; x: number; xref: string; yref: string }[];
  assert.deepEqual(
    notes.map((a) => [a.text, a.x, a.xref, a.yref]),
    [
      ['Instability', 0.225, 'paper', 'paper'],
      ['L2', 0.775, 'paper', 'paper'],
    ],
  );
  assert.equal(both.layout.title, undefined, 'no overall title unless asked');
});

test("sideBySide moves a panel's shapes with it: a full-width band spans that panel only", () => {
  const accuracy = [0, 100].map((k) => ({ k, accuracy: 0.9, run: '0' }));
  const right = accuracyStepPlot(accuracy, { dense: { mean: 0.92, std: 0.01 } });
  const both = sideBySide(l2DistancePlot(distances), right, { gap: 0.2 });
  const shapes = both.layout.shapes as { x0: number; x1: number; xref: string; yref: string }[];
  assert.equal(shapes.length, 2);
  for (const s of shapes) assert.deepEqual([s.x0, s.x1, s.xref, s.yref], [0.6, 1, 'paper', 'y2']);
});

test('sideBySide refuses a figure that already has panels, and a gap outside [0, 1)', () => {
  const panels = figure([{ type: 'scatter', x: [1], y: [1], xaxis: 'x2' }], { xaxis2: { domain: [0.5, 1] } });
  assert.throws(
    () => sideBySide(panels, l2DistancePlot(distances)),
    /sideBySide: the left figure has its own xaxis2; give figures with one x and one y axis each/,
  );
  assert.throws(
    () => sideBySide(l2DistancePlot(distances), l2DistancePlot(distances), { gap: 1 }),
    /sideBySide: gap = 1; give a fraction of the width in \[0, 1\)/,
  );
});
