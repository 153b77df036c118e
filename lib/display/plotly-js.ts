/**
 * plotly.js for offline HTML: the library from plotly.js-dist, read once, wrapped so that a page
 * defines `window.Plotly` exactly once however many times the script appears, and a per-session
 * flag that puts the script into the first figure of a notebook only.
 *
 * Why not plotly.py's way (`define('plotly', ...)` + `require(['plotly'])`): that needs RequireJS,
 * which only the classic Notebook has; JupyterLab, VS Code and nbconvert's lab template have none,
 * so plotly.py's HTML fallback draws nothing there. plotly.js 3 assigns `window.Plotly` itself and
 * never calls an AMD `define`, so one plain guarded script works in every front end, and figures
 * wait for it through a queue on `window` (see figure.ts) instead of through RequireJS.
 */
import { readFileSync } from 'node:fs';

/** The global the loader queue lives under; figure scripts push draw functions into it. */
export const PLOTLY_QUEUE = '__lmcPlotlyQueue';

let libraryText: string | undefined;
let scriptTag: string | undefined;
let includedInSession = false;

/** Where plotly.js may be: the minified bundle first (a third of the size in every notebook), then plotly.js-dist. */
const CANDIDATES = ['plotly.js-dist-min/plotly.min.js', 'plotly.js-dist/plotly.js'];

/** The plotly.js source (read on first use, then kept). */
export function plotlyJsSource(): string {
  if (libraryText === undefined) {
    const path = CANDIDATES.map(resolveOrNull).find((p): p is string => p !== null);
    if (!path)
      throw new Error("display: cannot find 'plotly.js-dist/plotly.js'; run `npm install` in the lmc-lab folder");
    libraryText = readFileSync(path, 'utf8');
  }
  return libraryText;
}

/** The resolved path of a module file, or null when it is not installed. */
function resolveOrNull(request: string): string | null {
  try {
    return require.resolve(request);
  } catch {
    return null;
  }
}

/** The plotly.js version in the bundle ("3.7.0"), read from its header comment. */
export function plotlyJsVersion(): string {
  return /plotly\.js v(\d+\.\d+\.\d+)/.exec(plotlyJsSource().slice(0, 400))?.[1] ?? 'unknown';
}

/**
 * An inline <script> that defines window.Plotly once, then runs the figures queued before it.
 * A second copy on the same page is a no-op. `module`, `exports` and `define` are shadowed so a
 * page global of those names (a CommonJS shim, RequireJS) cannot capture the library instead of
 * `window`. "</script" inside the source is escaped so the HTML parser cannot end the element early.
 */
export function plotlyScriptTag(): string {
  if (scriptTag !== undefined) return scriptTag;
  const source = plotlyJsSource().replace(/<\/(script)/gi, '<\\/$1');
  scriptTag =
    '<script type="text/javascript">' +
    'window.PlotlyConfig = window.PlotlyConfig || {MathJaxConfig: "local"};' +
    '(function (module, exports, define) { if (window.Plotly) { return; }\n' +
    source +
    `\n})();(function () { var q = window.${PLOTLY_QUEUE} || []; window.${PLOTLY_QUEUE} = [];` +
    ' for (var i = 0; i < q.length; i++) { try { q[i](); } catch (e) { console.error(e); } } })();' +
    '</script>';
  return scriptTag;
}

/**
 * True once, for the first figure shown in this kernel session; false afterwards. The figure
 * that receives true carries plotly.js for every later figure of the notebook.
 */
export function claimPlotlyInclusion(): boolean {
  if (includedInSession) return false;
  includedInSession = true;
  return true;
}

/** Whether a figure of this session has already carried plotly.js. */
export function isPlotlyIncluded(): boolean {
  return includedInSession;
}

/**
 * Makes the next figure carry plotly.js again: call it for a new page, or after clearing or
 * re-running the cell whose figure carried it (otherwise a saved notebook would lose the library).
 */
export function resetPlotlyInclusion(): void {
  includedInSession = false;
}
