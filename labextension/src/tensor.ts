/**
 * A mime renderer for lmc-lab's tensors and pruning masks: shape, statistics, a corner preview and,
 * for 2-D tensors, the heatmap, built as DOM nodes from the JSON (lib/display/tensor.ts formats
 * every number and computes the heatmap's shades). JupyterLab's sanitizer strips the SVG from an
 * untrusted output's HTML; this draws the same view in trusted and untrusted notebooks alike.
 * Nothing from the JSON becomes markup: text goes in as text, and a path is drawn only when its
 * colour and its drawing commands have the exact form the kernel writes.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { element } from './dom';
import { TENSOR_MIME, type TensorView } from '../../lib/io/wire';

export { TENSOR_MIME };

const SVG = 'http://www.w3.org/2000/svg';
const FILL = /^#[0-9a-f]{6}$/;
const RUNS = /^(M\d+ \d+h\d+v1h-\d+z)+$/;
const whole = (v: unknown, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;

function heatmapNode(h: NonNullable<TensorView['heatmap']>): HTMLElement {
  const node = element('div', 'lmc-heatmap');
  if (!whole(h.rows, 4096) || !whole(h.cols, 4096) || !whole(h.width, 10000) || !whole(h.height, 10000)) return node;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(h.width));
  svg.setAttribute('height', String(h.height));
  svg.setAttribute('viewBox', `0 0 ${h.cols} ${h.rows}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('shape-rendering', 'crispEdges');
  for (const p of h.paths ?? []) {
    if (!FILL.test(String(p.fill)) || !RUNS.test(String(p.d))) continue;
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('fill', p.fill);
    path.setAttribute('d', p.d);
    svg.append(path);
  }
  node.append(svg, element('div', 'lmc-tensor-note', String(h.legend ?? '')));
  return node;
}

/** One tensor (or mask) in an output area. */
export class TensorRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('lmc-tensor-view');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const view = (model.data[TENSOR_MIME] ?? {}) as Partial<TensorView>;
    const head = element('div', 'lmc-tensor-head');
    head.append(
      element('b', '', String(view.kind ?? 'Tensor')),
      ` ${String(view.dtype ?? '')} ${String(view.shape ?? '')} `,
      element('span', 'lmc-tensor-note', `(${Number(view.size)} values)`),
    );
    const stats = element('table', 'lmc-tensor-stats');
    const statsRow = element('tr', '');
    for (const [name, value] of Array.isArray(view.stats) ? view.stats : [])
      statsRow.append(
        element('td', 'lmc-tensor-note', String(name)),
        element('td', 'lmc-tensor-number', String(value)),
      );
    stats.append(statsRow);
    const preview = element('table', 'lmc-tensor-preview');
    for (const row of Array.isArray(view.preview) ? view.preview : []) {
      const tr = element('tr', '');
      for (const value of Array.isArray(row) ? row : []) tr.append(element('td', 'lmc-tensor-number', String(value)));
      preview.append(tr);
    }
    const values = element('div', '');
    values.append(element('div', 'lmc-tensor-note', String(view.seenAs ?? '')), preview);
    const body = element('div', 'lmc-tensor-body');
    body.append(values);
    if (view.heatmap) body.append(heatmapNode(view.heatmap));
    this.node.replaceChildren(head, stats, body);
  }
}
