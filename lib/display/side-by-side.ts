/**
 * Two figures as one, side by side: the paper draws related panels beside each other (Figure 3's
 * instability beside Appendix D's L2 distance, against the same k), and one figure keeps them
 * aligned at any width. Each keeps its traces, axes, title (above its panel) and shapes.
 */
import { figure, type Figure, type PlotlyLayout, type PlotlyTrace } from './figure';

/** Options of `sideBySide`. */
export interface SideBySideOptions {
  /** Title over both panels (default none: each panel keeps its own title above it). */
  title?: string;
  /** Fraction of the width between the panels (default 0.1). */
  gap?: number;
}

/** `left` and `right` as one figure with two panels; each must have one x and one y axis. */
export function sideBySide(left: Figure, right: Figure, options: SideBySideOptions = {}): Figure {
  const gap = options.gap ?? 0.1;
  if (!(gap >= 0 && gap < 1))
    throw new Error(`sideBySide: gap = ${gap}; give a fraction of the width in [0, 1), e.g. 0.1`);
  for (const [which, fig] of [
    ['left', left],
    ['right', right],
  ] as const) {
    const extra = Object.keys(fig.layout).find((key) => /^[xy]axis\d+$/.test(key));
    if (extra)
      throw new Error(
        `sideBySide: the ${which} figure has its own ${extra}; give figures with one x and one y axis each`,
      );
  }
  const width = (1 - gap) / 2;
  const panel = (fig: Figure, n: '' | '2', domain: [number, number]) => {
    const axis = (a: 'x' | 'y') => ({
      ...(fig.layout[`${a}axis`] as object | undefined),
      ...(n ? { anchor: a === 'x' ? 'y2' : 'x2' } : {}),
    });
    const traces: PlotlyTrace[] = fig.data.map((t) => ({
      ...t,
      xaxis: `x${n}`,
      yaxis: `y${n}`,
      legendgroup: t.legendgroup ?? `panel${n || 1}`,
    }));
    const shapes = ((fig.layout.shapes as PlotlyLayout[] | undefined) ?? []).map((s) => onPanel(s, n, domain));
    const title = (fig.layout.title as { text?: string } | undefined)?.text;
    const annotation =
      title === undefined
        ? []
        : [
            {
              text: title,
              showarrow: false,
              xref: 'paper',
              yref: 'paper',
              x: (domain[0] + domain[1]) / 2,
              y: 1,
              yanchor: 'bottom',
              xanchor: 'center',
              font: { size: 13 },
            },
          ];
    return { traces, shapes, annotation, xaxis: { ...axis('x'), domain }, yaxis: axis('y') };
  };
  const l = panel(left, '', [0, width]);
  const r = panel(right, '2', [1 - width, 1]);
  const layout: PlotlyLayout = {
    ...left.layout,
    title: options.title === undefined ? undefined : { text: options.title },
    xaxis: l.xaxis,
    yaxis: l.yaxis,
    xaxis2: r.xaxis,
    yaxis2: r.yaxis,
    shapes: [...l.shapes, ...r.shapes],
    annotations: [
      ...((left.layout.annotations as unknown[]) ?? []),
      ...((right.layout.annotations as unknown[]) ?? []),
      ...l.annotation,
      ...r.annotation,
    ],
    margin: { ...(left.layout.margin as object | undefined), t: options.title === undefined ? 60 : 90 },
  };
  if (layout.title === undefined) delete layout.title;
  return figure([...l.traces, ...r.traces], layout, { ...right.config, ...left.config });
}

/** A shape of one panel, its axis references moved to that panel (`paper` x spans become the panel's domain). */
function onPanel(shape: PlotlyLayout, n: '' | '2', domain: [number, number]): PlotlyLayout {
  const out: PlotlyLayout = { ...shape };
  if (out.xref === 'paper') {
    const at = (v: unknown) => domain[0] + Number(v) * (domain[1] - domain[0]);
    Object.assign(out, { x0: at(out.x0), x1: at(out.x1) });
  } else {
    out.xref = `x${n}`;
  }
  if (out.yref !== 'paper') out.yref = `y${n}`;
  return out;
}
