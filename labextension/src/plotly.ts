/**
 * A mime renderer for lmc-lab's figures. JupyterLab 4 has no renderer for
 * `application/vnd.plotly.v1+json`, so without this it falls back to the bundle's `text/html`,
 * whose inline script runs only in trusted outputs (a notebook executed by nbconvert, cloned or
 * reopened unsigned shows blank figures). This one draws from the JSON alone: every figure draws,
 * trusted or not, in any order, whatever came before it. plotly.js is loaded once per page, when
 * the first figure needs it.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { PLOTLY_MIME } from '../../lib/io/wire';

export { PLOTLY_MIME };

/** The part of plotly.js this renderer uses. */
export interface Plotly {
  react(
    node: HTMLElement,
    data: unknown[],
    layout: Record<string, unknown>,
    config: Record<string, unknown>,
  ): Promise<unknown>;
  purge(node: HTMLElement): void;
  Plots: { resize(node: HTMLElement): void };
}

/** A figure as lmc-lab's bundles carry it. */
export interface Figure {
  data?: unknown[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let plotly: Promise<Plotly> | null = null;

/** plotly.js, fetched as a chunk of its own on first use and shared by every figure of the page. */
export function loadPlotly(): Promise<Plotly> {
  plotly ??= import('plotly.js-dist').then((module) => ((module as { default?: Plotly }).default ?? module) as Plotly);
  return plotly;
}

/** JupyterLab's theme colors for the figure's background, text and grid, so it follows light and dark. */
export function themeLayout(layout: Record<string, unknown>): Record<string, unknown> {
  const style = getComputedStyle(document.body);
  const color = (name: string) => style.getPropertyValue(name).trim();
  const font = color('--jp-ui-font-color1');
  const grid = color('--jp-border-color2');
  if (font === '') return layout;
  const axis = (key: string) => ({
    gridcolor: grid,
    zerolinecolor: grid,
    linecolor: grid,
    ...(layout[key] as object | undefined),
  });
  const axes = Object.keys(layout).filter((key) => /^[xy]axis\d*$/.test(key));
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    ...layout,
    font: { color: font, ...(layout.font as object | undefined) },
    ...Object.fromEntries([...new Set(['xaxis', 'yaxis', ...axes])].map((key) => [key, axis(key)])),
  };
}

/** One figure in an output area. */
export class PlotlyRenderer extends Widget implements IRenderMime.IRenderer {
  private drawn: Plotly | null = null;

  constructor() {
    super();
    this.addClass('lmc-plotly');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const figure = (model.data[PLOTLY_MIME] ?? {}) as Figure;
    const library = await loadPlotly();
    // Width follows the output area (onResize); height is the figure's own, else plotly's usual 450 px.
    const layout = { height: 450, ...(figure.layout ?? {}), autosize: true };
    await library.react(this.node, figure.data ?? [], themeLayout(layout), figure.config ?? {});
    this.drawn = library;
  }

  protected override onResize(message: Widget.ResizeMessage): void {
    super.onResize(message);
    if (this.drawn && this.isVisible) this.drawn.Plots.resize(this.node);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.drawn?.purge(this.node);
    super.dispose();
  }
}
