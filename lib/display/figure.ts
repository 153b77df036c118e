/**
 * Plotly figures as values: `{data, layout, config}` that display themselves. The MIME bundle
 * carries `application/vnd.plotly.v1+json` (for front ends with a plotly renderer) and a
 * `text/html` fallback that draws with an inline plotly.js, so figures render offline in classic
 * Notebook, JupyterLab, VS Code and nbconvert's HTML export alike. plotly.js travels once per
 * notebook: with the first figure of the kernel session (see plotly-js.ts).
 */
import { randomUUID } from 'node:crypto';
import { MIME_BUNDLE, type Displayable, type MimeBundle } from './bundle';
import { escapeHtml, jsonForScript, truncate } from './format';
import { PLOTLY_QUEUE, claimPlotlyInclusion, plotlyScriptTag } from './plotly-js';
import { PLOTLY_MIME } from '../io/wire';

/** One plotly.js trace (scatter, bar, heatmap, ...): plotly's own attribute names. */
export type PlotlyTrace = { type?: string; name?: string; [attribute: string]: unknown };
/** A plotly.js layout (titles, axes, shapes, legend, size). */
export type PlotlyLayout = { [attribute: string]: unknown };
/** plotly.js config (responsive, displayModeBar, toImageButtonOptions, ...). */
export type PlotlyConfig = { [option: string]: unknown };

/** A plotly figure that displays itself in notebooks. */
export interface Figure extends Displayable {
  readonly data: readonly PlotlyTrace[];
  readonly layout: PlotlyLayout;
  readonly config: PlotlyConfig;
}

/** Options of `figureHtml`. */
export interface FigureHtmlOptions {
  /** Put plotly.js itself before the figure (default false: expect it on the page already). */
  includePlotly?: boolean;
  /** Element key; default a fresh random one (keys must differ between figures on a page). */
  id?: string;
}

const DEFAULT_CONFIG: PlotlyConfig = { responsive: true, displaylogo: false };
const DEFAULT_HEIGHT = 450;
/** How long a figure waits for plotly.js before saying why it is not drawn (ms). */
const MISSING_LIBRARY_NOTICE_MS = 15000;

/** A figure value from traces, a layout and a config (typed arrays become plain JSON arrays). */
export function figure(data: readonly PlotlyTrace[], layout: PlotlyLayout = {}, config: PlotlyConfig = {}): Figure {
  const value = {
    data: plainJson(data) as PlotlyTrace[],
    layout: withTitleObjects(plainJson(layout) as PlotlyLayout),
    config: { ...DEFAULT_CONFIG, ...(plainJson(config) as PlotlyConfig) },
    [MIME_BUNDLE]: (): MimeBundle => figureBundle(value),
  };
  return Object.freeze(value);
}

/** True for values made by `figure`. */
export function isFigure(value: unknown): value is Figure {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Figure).data) &&
    typeof (value as Figure).layout === 'object' &&
    typeof (value as Record<symbol, unknown>)[MIME_BUNDLE] === 'function'
  );
}

/** A copy of `fig` with `patch` merged into its layout (one level deep: axes merge, not replace). */
export function updateLayout(fig: Figure, patch: PlotlyLayout): Figure {
  const layout: PlotlyLayout = { ...fig.layout };
  for (const [key, value] of Object.entries(patch)) {
    const old = layout[key];
    layout[key] = isPlainObject(old) && isPlainObject(value) ? { ...old, ...value } : value;
  }
  return figure(fig.data, layout, fig.config);
}

/**
 * The MIME bundle of a figure for a notebook. The first figure of the kernel session carries
 * plotly.js in its HTML; call `resetPlotlyInclusion()` to make the next one carry it again.
 */
export function figureBundle(fig: Figure): MimeBundle {
  return {
    [PLOTLY_MIME]: { data: fig.data, layout: fig.layout, config: fig.config },
    'text/html': figureHtml(fig, { includePlotly: claimPlotlyInclusion() }),
    'text/plain': figureText(fig),
  };
}

/** A one-line text description of a figure ("Figure: 3 traces (scatter), 'Title'"). */
export function figureText(fig: Figure): string {
  const types = [...new Set(fig.data.map((t) => t.type ?? 'scatter'))].join(', ');
  const title = layoutTitle(fig.layout);
  const count = `${fig.data.length} trace${fig.data.length === 1 ? '' : 's'}`;
  return `Figure: ${count}${types ? ` (${types})` : ''}${title ? `, '${truncate(title, 80)}'` : ''}`;
}

/**
 * The HTML of one figure: a div and a script that draws into it once both plotly.js and the div
 * are on the page. Front ends run output scripts at different moments (classic Notebook before
 * the output is attached, JupyterLab while windowing cells in and out, nbconvert pages while
 * parsing), so the script waits for the library through a queue that plotly.js's script flushes,
 * and polls for the div (often for 10 s, then slowly for 5 min). It finds its div by a data
 * attribute, not an id, so that a second view of the same output (JupyterLab "new view for
 * output") is drawn as well.
 */
export function figureHtml(fig: Figure, options: FigureHtmlOptions = {}): string {
  const key = options.id ?? `lmc-plot-${randomUUID()}`;
  const height = typeof fig.layout.height === 'number' ? fig.layout.height : DEFAULT_HEIGHT;
  const spec = jsonForScript({ data: fig.data, layout: fig.layout, config: fig.config });
  const library = options.includePlotly ? plotlyScriptTag() : '';
  const script = `(function () {
  var key = ${jsonForScript(key)}, spec = ${spec};
  function undrawn() { return document.querySelectorAll('div[data-lmc-plotly="' + key + '"]:not([data-lmc-drawn])'); }
  function draw(tries) {
    var nodes = undrawn();
    if (nodes.length === 0) {
      if (tries < 400) { setTimeout(function () { draw(tries + 1); }, tries < 100 ? 100 : 1000); }
      return;
    }
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute('data-lmc-drawn', '1');
      nodes[i].innerHTML = '';
      window.Plotly.newPlot(nodes[i], spec.data, spec.layout, spec.config);
    }
  }
  if (window.Plotly) { draw(0); return; }
  (window.${PLOTLY_QUEUE} = window.${PLOTLY_QUEUE} || []).push(function () { draw(0); });
  setTimeout(function () {
    if (window.Plotly) { return; }
    var nodes = undrawn();
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].innerHTML = '<p style="font-family:sans-serif;color:#a00">This figure needs plotly.js, which travels '
        + 'with the first figure of a kernel session, and that output is not on this page. '
        + 'Run <code>lmc.display.resetPlotlyInclusion()</code>, then run this cell again '
        + '(or restart the kernel and run all).</p>';
    }
  }, ${MISSING_LIBRARY_NOTICE_MS});
})();`;
  return (
    library +
    `<div class="lmc-plotly-figure" data-lmc-plotly="${escapeHtml(key)}"` +
    ` style="width:100%;height:${height}px;"></div>` +
    `<script type="text/javascript">${script}</script>`
  );
}

/**
 * The layout with string titles (`title: 'Loss'`, `xaxis: {title: 'k'}`, legends) as `{text}` objects:
 * plotly.js 3 dropped the string form and silently draws no title for it.
 */
function withTitleObjects(layout: PlotlyLayout): PlotlyLayout {
  const out: PlotlyLayout = { ...layout };
  if (typeof out.title === 'string') out.title = { text: out.title };
  for (const [key, axis] of Object.entries(out)) {
    if (/^([xyz]axis|legend)\d*$/.test(key) && isPlainObject(axis) && typeof axis.title === 'string')
      out[key] = { ...axis, title: { text: axis.title } };
  }
  return out;
}

/** The title text of a layout ('' when none). */
function layoutTitle(layout: PlotlyLayout): string {
  const title = layout.title;
  if (typeof title === 'string') return title;
  if (isPlainObject(title) && typeof title.text === 'string') return title.text;
  return '';
}

/** Deep copy with typed arrays as plain arrays: JSON.stringify writes a Float32Array as an object. */
function plainJson(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>, Number);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = plainJson(item);
    return out;
  }
  return value;
}

/** True for `{...}` literals (not arrays, dates, class instances). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
