// Plotly figures: the JSON bundle, plotly.js carried once per session, the browser-side loader,
// and the offline HTML page.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as vm from 'node:vm';
import * as aq from 'arquero';
import { figureHtml, isFigure } from '../lib/display/figure';
import {
  MIME_BUNDLE,
  figure,
  figureToHtmlPage,
  resetPlotlyInclusion,
  toMimeBundle,
  updateLayout,
} from '../lib/display';
import { plotlyJsSource, isPlotlyIncluded, plotlyJsVersion } from '../lib/display/plotly-js';

/** A stretch of the library that occurs once in plotly.js: counting it counts inclusions. */
const marker = () => plotlyJsSource().slice(0, 300);
const count = (text: string, part: string) => text.split(part).length - 1;

beforeEach(() => resetPlotlyInclusion());

test('a figure is {data, layout, config}; its bundle has the plotly JSON, HTML and text', () => {
  const fig = figure([{ type: 'scatter', x: new Float32Array([1, 2, 3]), y: [0.5, 0.25, 0.125], name: 'loss' }], {
    title: { text: 'Loss' },
  });
  assert.ok(isFigure(fig));
  assert.deepEqual(fig.data[0].x, [1, 2, 3], 'typed arrays become plain arrays');
  const bundle = toMimeBundle(fig);
  const json = bundle['application/vnd.plotly.v1+json'] as {
    data: unknown[];
    layout: { title: { text: string } };
    config: Record<string, unknown>;
  };
  assert.deepEqual(json.data, [{ type: 'scatter', x: [1, 2, 3], y: [0.5, 0.25, 0.125], name: 'loss' }]);
  assert.equal(json.layout.title.text, 'Loss');
  assert.equal(json.config.responsive, true);
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json, 'the JSON part survives serialisation unchanged');
  assert.equal(bundle['text/plain'], "Figure: 1 trace (scatter), 'Loss'");
  assert.match(String(bundle['text/html']), /data-lmc-plotly="lmc-plot-[0-9a-f-]+"/);
  assert.match(plotlyJsVersion(), /^3\.\d+\.\d+$/);
});

test('plotly.js is in the first figure HTML of a session only, and again after a reset', () => {
  const a = figure([{ y: [1, 2] }]);
  const b = figure([{ y: [3, 4] }]);
  assert.equal(isPlotlyIncluded(), false);
  const first = String(a[MIME_BUNDLE]()['text/html']);
  const second = String(b[MIME_BUNDLE]()['text/html']);
  assert.equal(count(first + second, marker()), 1);
  assert.equal(count(first, marker()), 1);
  assert.ok(second.length < 5000, `later figures stay small (${second.length} characters)`);
  assert.equal(isPlotlyIncluded(), true);
  resetPlotlyInclusion();
  const third = String(toMimeBundle(b)['text/html']);
  const fourth = String(toMimeBundle(a)['text/html']);
  assert.equal(count(third, marker()), 1);
  assert.equal(count(fourth, marker()), 0);
});

test('the library script is guarded and cannot end its <script> early; data cannot break out either', () => {
  const html = figureHtml(figure([{ y: [1], name: '</script><script>alert(1)</script>' }], { title: '<b>&' }), {
    includePlotly: true,
  });
  assert.match(html, /if \(window\.Plotly\) \{ return; \}/);
  assert.equal(count(html, '</script>'), 2, 'exactly two scripts end: the library and the figure');
  assert.ok(html.includes('\\u003c/script>\\u003cscript>alert(1)\\u003c/script>'));
});

/** Runs a figure's script against a fake page: `nodes` are the divs document finds. */
function runFigureScript(
  html: string,
  page: { window: Record<string, unknown>; nodes: FakeNode[]; timers: (() => void)[] },
) {
  const script = /<script type="text\/javascript">([\s\S]*)<\/script>$/.exec(html)![1];
  const context = {
    window: page.window,
    document: { querySelectorAll: () => page.nodes.filter((n) => !n.attributes['data-lmc-drawn']) },
    setTimeout: (fn: () => void) => page.timers.push(fn),
    console,
  };
  vm.runInNewContext(script, context);
}

class FakeNode {
  attributes: Record<string, string> = {};
  innerHTML = '';
  setAttribute(name: string, value: string) {
    this.attributes[name] = value;
  }
}

test('in the page, a figure waits for plotly.js through the queue and for its div by polling', () => {
  const html = figureHtml(figure([{ y: [1, 2] }], { height: 300 }), { id: 'fig-1' });
  assert.match(html, /style="width:100%;height:300px;"/);
  const drawn: unknown[][] = [];
  const page = { window: {} as Record<string, unknown>, nodes: [] as FakeNode[], timers: [] as (() => void)[] };
  runFigureScript(html, page);
  const queue = page.window.__lmcPlotlyQueue as (() => void)[];
  assert.equal(queue.length, 1, 'without plotly.js the draw is queued');
  // plotly.js arrives (the first figure's script flushes the queue), but the div is not attached yet.
  page.window.Plotly = { newPlot: (...args: unknown[]) => drawn.push(args) };
  queue.forEach((f) => f());
  assert.equal(drawn.length, 0);
  const node = new FakeNode();
  page.nodes.push(node);
  page.timers.splice(0).forEach((f) => f());
  assert.equal(drawn.length, 1, 'drawn once the div is on the page');
  assert.equal(drawn[0][0], node);
  assert.deepEqual(JSON.parse(JSON.stringify(drawn[0][1])), [{ y: [1, 2] }], 'the figure data (from the vm realm)');
  assert.equal(node.attributes['data-lmc-drawn'], '1');
  // With plotly.js already on the page (a later figure), drawing is immediate.
  const later = new FakeNode();
  runFigureScript(figureHtml(figure([{ y: [3] }]), {}), { ...page, nodes: [later] });
  assert.equal(drawn.length, 2);
});

test('a figure whose library never arrives says why instead of staying blank', () => {
  const page = { window: {} as Record<string, unknown>, nodes: [new FakeNode()], timers: [] as (() => void)[] };
  runFigureScript(figureHtml(figure([{ y: [1] }]), {}), page);
  page.timers.splice(0).forEach((f) => f());
  assert.match(page.nodes[0].innerHTML, /resetPlotlyInclusion/);
});

test('string titles become {text} objects, the only form plotly.js 3 draws', () => {
  const fig = figure([{ y: [1] }], {
    title: 'Loss',
    xaxis: { title: 'step' },
    yaxis2: { title: 'lr' },
    legend: { title: 'kept' },
  });
  assert.deepEqual(fig.layout.title, { text: 'Loss' });
  assert.deepEqual(fig.layout.xaxis, { title: { text: 'step' } });
  assert.deepEqual(fig.layout.yaxis2, { title: { text: 'lr' } });
  assert.deepEqual(fig.layout.legend, { title: { text: 'kept' } });
  assert.equal(figureToHtmlPage([fig]).includes('"title":{"text":"Loss"}'), true);
});

test('updateLayout merges axes one level deep and leaves the original alone', () => {
  const fig = figure([{ y: [1] }], { xaxis: { type: 'log', title: { text: 'k' } } });
  const changed = updateLayout(fig, { xaxis: { range: [0, 1] }, title: 'T' });
  assert.deepEqual(changed.layout, {
    xaxis: { type: 'log', title: { text: 'k' }, range: [0, 1] },
    title: { text: 'T' },
  });
  assert.deepEqual(fig.layout, { xaxis: { type: 'log', title: { text: 'k' } } });
});

test('figureToHtmlPage: an offline page, plotly.js once in the head, no remote scripts, session flag untouched', () => {
  const figs = [figure([{ y: [1, 2] }], { title: 'one' }), figure([{ y: [2, 1] }], { title: 'two' })];
  const page = figureToHtmlPage(
    [
      figs[0],
      {
        title: 'Section <2>',
        text: 'First paragraph.\n\nSecond & last.',
        items: [figs[1], aq.table({ a: [1, 2] }), 'plain <text>'],
      },
    ],
    { title: 'Report' },
  );
  assert.ok(page.startsWith('<!DOCTYPE html>'));
  assert.equal(count(page, marker()), 1);
  assert.ok(page.indexOf(marker()) < page.indexOf('</head>'), 'the library is in the head, before every figure');
  assert.equal(count(page, '<div class="lmc-plotly-figure"'), 2);
  assert.doesNotMatch(page, /<script[^>]*\bsrc=/i, 'no script is loaded from anywhere');
  assert.ok(page.includes('<h2>Section &lt;2&gt;</h2>'));
  assert.ok(page.includes('<p>Second &amp; last.</p>'));
  assert.ok(page.includes('class="lmc-table"'), 'tables use their own HTML');
  assert.ok(page.includes('<pre>plain &lt;text&gt;</pre>'));
  assert.equal(isPlotlyIncluded(), false);
  assert.equal(
    count(figureToHtmlPage([{ text: 'no figures' }]), marker()),
    0,
    'pages without figures carry no library',
  );
});
