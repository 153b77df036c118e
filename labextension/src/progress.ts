/**
 * A mime renderer for lmc-lab's training progress: one block per running unit with its bar,
 * status, numbers (step, loss, accuracy, rate, ETA) and loss curve, in JupyterLab's theme colors.
 * The kernel replaces the output in place (update_display_data) as training goes; the last state
 * is what the saved notebook keeps and what this draws when it is reopened. The kernel formats
 * every number (lib/display/progress.ts); this only lays them out.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { element } from './dom';
import { PROGRESS_MIME, type ProgressBlock } from '../../lib/io/wire';

export { PROGRESS_MIME };

const SVG = 'http://www.w3.org/2000/svg';

/** The loss curve as a small SVG polyline (log-free: the kernel's values as they are). */
function curve(losses: [number, number][]): SVGSVGElement | null {
  if (losses.length < 2) return null;
  const [width, height] = [240, 36];
  const xs = losses.map(([x]) => x);
  const ys = losses.map(([, y]) => y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => ((x - x0) / Math.max(x1 - x0, 1e-12)) * (width - 2) + 1;
  const sy = (y: number) => height - 1 - ((y - y0) / Math.max(y1 - y0, 1e-12)) * (height - 2);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'lmc-progress-curve');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', losses.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' '));
  svg.appendChild(line);
  const title = document.createElementNS(SVG, 'title');
  title.textContent = `loss from ${y1.toPrecision(3)} to ${ys[ys.length - 1].toPrecision(3)}`;
  svg.appendChild(title);
  return svg;
}

function blockNode(block: ProgressBlock): HTMLElement {
  const node = element('div', `lmc-progress-block lmc-progress-${block.state}`);
  const head = element('div', 'lmc-progress-head');
  head.append(
    element('b', 'lmc-progress-label', block.label),
    ' ',
    element('span', 'lmc-progress-status', block.status),
  );
  const bar = element('div', 'lmc-progress-bar');
  const fill = element('div', 'lmc-progress-fill');
  fill.style.width = `${(Math.min(1, Math.max(0, block.fraction)) * 100).toFixed(1)}%`;
  bar.appendChild(fill);
  node.append(head, bar, element('div', 'lmc-progress-details', block.details.join(' · ')));
  const svg = curve(block.losses);
  if (svg) node.appendChild(svg);
  return node;
}

/** The progress output of one cell. */
export class ProgressRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('lmc-progress-view');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const blocks = ((model.data[PROGRESS_MIME] ?? {}) as { blocks?: ProgressBlock[] }).blocks ?? [];
    this.node.replaceChildren(...blocks.map(blockNode));
  }
}
