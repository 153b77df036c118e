/**
 * The Runs panel (left side bar): every unit of the store with its state, a running unit's step
 * and ETA updated every POLL_MS while the panel is visible, a filter, and a selection. Selected
 * instability pairs are drawn (error along the path, instability and L2 distance against k, the
 * kernel's own figures); "Insert cell" writes the cell that loads the selection as an arquero
 * table into the notebook last used.
 */
import { Widget } from '@lumino/widgets';
import { element } from './dom';
import { loadPlotly, themeLayout, type Figure } from './plotly';
import type { RunRow, RunsConnection } from './runs-kernel';

/** How often the list is refreshed while the panel is visible. */
const POLL_MS = 2000;
/** Figure height in the side bar. */
const FIGURE_HEIGHT = 260;

/** Where "Insert cell" puts its code; returns why it could not (no notebook open), or null. */
export type InsertCell = (source: string) => string | null;

/**
 * Whether a row matches every term of the filter: `field=value`
 * compares a field, any other term searches the row's words.
 */
export function matchesFilter(row: RunRow, filter: string): boolean {
  const words = [row.kind, row.label, row.preset ?? '', row.model ?? '', row.dataset ?? '', row.state, row.hash]
    .join(' ')
    .toLowerCase();
  return filter
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t !== '')
    .every((term) => {
      const eq = /^([a-zA-Z]+)=(.*)$/.exec(term);
      if (!eq) return words.includes(term);
      const key = Object.keys(row).find((k) => k.toLowerCase() === eq[1]);
      return key !== undefined && String((row as unknown as Record<string, unknown>)[key]).toLowerCase() === eq[2];
    });
}

/** The code of the inserted cell: the selection, by hash, from the panel's store. */
export function selectionCell(store: string, hashes: readonly string[]): string {
  return [
    '// Units selected in the Runs panel, one row each (lmc.experiments.RunRow).',
    `const runs = await lmc.experiments.runsTable([`,
    ...hashes.map((h) => `  '${h.slice(0, 16)}',`),
    `], lmc.openStore(${JSON.stringify(store)}));`,
    'runs',
  ].join('\n');
}

const percent = (v: number | null, digits: number) => (v === null ? '' : `${(v * 100).toFixed(digits)}`);

export class RunsPanel extends Widget {
  private readonly statusLine = element('div', 'lmc-runs-status', 'starting the lmc-lab kernel…');
  private readonly filterInput = element('input', 'lmc-runs-filter jp-mod-styled');
  private readonly table = element('table', 'lmc-runs-table');
  private readonly insertButton = element('button', 'lmc-runs-insert jp-mod-styled jp-mod-accept', 'Insert cell');
  private readonly figures = element('div', 'lmc-runs-figures');
  private rows: RunRow[] = [];
  private readonly selected = new Set<string>();
  private drawnSelection = '';
  private timer: ReturnType<typeof setInterval> | null = null;
  private polling = false;

  constructor(
    private readonly connection: RunsConnection,
    private readonly insertCell: InsertCell,
  ) {
    super();
    this.id = 'lmc-lab-runs';
    this.addClass('lmc-runs-panel');
    this.title.caption = 'lmc-lab runs: the units of the store';
    this.title.label = 'Runs';
    this.filterInput.placeholder = 'filter: words, or field=value (kind=copy k=500 state=running)';
    this.filterInput.addEventListener('input', () => this.renderTable());
    this.insertButton.addEventListener('click', () => this.insert());
    const actions = element('div', 'lmc-runs-actions');
    actions.append(this.insertButton);
    this.node.append(
      element('h2', 'lmc-runs-title', 'Runs'),
      this.statusLine,
      this.filterInput,
      actions,
      element('div', 'lmc-runs-scroll'),
      this.figures,
    );
    this.node.querySelector('.lmc-runs-scroll')!.append(this.table);
    this.renderTable();
  }

  protected override onAfterShow(): void {
    void this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), POLL_MS);
  }

  protected override onAfterHide(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  override dispose(): void {
    this.onAfterHide();
    this.connection.dispose();
    super.dispose();
  }

  /** Asks the kernel for the list (one request at a time) and redraws. */
  private async refresh(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const list = await this.connection.list();
      // Running units first, then the most recently changed.
      this.rows = list.units.sort(
        (a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.modified.localeCompare(a.modified),
      );
      const known = new Set(this.rows.map((r) => r.hash));
      for (const hash of [...this.selected]) if (!known.has(hash)) this.selected.delete(hash);
      const running = this.rows.filter((r) => r.state === 'running').length;
      this.statusLine.textContent =
        `${list.store}: ${this.rows.length} units, ${running} running; ` +
        `updated ${new Date(list.time).toLocaleTimeString()}`;
      this.statusLine.classList.remove('lmc-runs-error');
      this.renderTable();
      await this.drawSelection();
    } catch (e) {
      this.showError(e as Error);
    } finally {
      this.polling = false;
    }
  }

  private showError(e: Error): void {
    this.statusLine.textContent = e.message;
    this.statusLine.classList.add('lmc-runs-error');
  }

  private renderTable(): void {
    const shown = this.rows.filter((r) => matchesFilter(r, this.filterInput.value));
    const head = element('tr', '');
    for (const h of [
      '',
      'kind',
      'state',
      'k',
      'level/pair',
      'density %',
      'instability (test, pp)',
      'preset',
      'seeds (init, order)',
    ])
      head.append(element('th', '', h));
    const body = shown.map((r) => {
      const tr = element('tr', `lmc-runs-row lmc-runs-${r.state}`);
      tr.dataset.hash = r.hash;
      tr.dataset.kind = r.kind;
      tr.title = `${r.label}\n${r.hash}${r.owner ? `\nby ${r.owner}` : ''}`;
      const box = element('input', 'lmc-runs-select');
      box.type = 'checkbox';
      box.checked = this.selected.has(r.hash);
      box.addEventListener('change', () => {
        if (box.checked) this.selected.add(r.hash);
        else this.selected.delete(r.hash);
        this.updateActions();
        this.drawSelection().catch((e: Error) => this.showError(e));
      });
      const cell = element('td', '');
      cell.append(box);
      tr.append(cell);
      const seed = (v: number | null) =>
        v === null ? '' : String(v).length > 6 ? `${String(v).slice(0, 6)}…` : String(v);
      const levelOrPair = r.level !== null ? `level ${r.level}` : r.pair !== null ? `pair ${r.pair}` : '';
      const seeds = r.initSeed === null ? '' : `${seed(r.initSeed)}, ${seed(r.dataOrderSeed)}`;
      const cells = [
        r.kind,
        r.status,
        r.k ?? '',
        levelOrPair,
        percent(r.density, 1),
        percent(r.instabilityTest, 2),
        r.preset ?? r.model ?? '',
        seeds,
      ];
      cells.forEach((text, i) => tr.append(element('td', i === 1 ? 'lmc-runs-state' : '', String(text))));
      return tr;
    });
    this.table.replaceChildren(head, ...body);
    if (this.rows.length > 0 && shown.length === 0)
      this.table.append(element('caption', '', `no unit matches "${this.filterInput.value}"`));
    this.updateActions();
  }

  private updateActions(): void {
    this.insertButton.disabled = this.selected.size === 0;
    this.insertButton.textContent =
      this.selected.size === 0 ? 'Insert cell' : `Insert cell (${this.selected.size} selected)`;
  }

  /** Draws the selected finished pairs (again only when the selection changed). */
  private async drawSelection(): Promise<void> {
    const pairs = this.rows
      .filter((r) => this.selected.has(r.hash) && r.kind === 'instability-pair' && r.state === 'finished')
      .map((r) => r.hash);
    const key = pairs.join(',');
    if (key === this.drawnSelection) return;
    this.drawnSelection = key;
    const plotly = await loadPlotly();
    for (const node of this.figures.querySelectorAll<HTMLElement>('.lmc-runs-figure')) plotly.purge(node);
    if (pairs.length === 0) {
      this.figures.replaceChildren(element('div', 'lmc-runs-hint', 'Select finished instability pairs to draw them.'));
      return;
    }
    let figures: Figure[];
    try {
      figures = (await this.connection.figures(pairs)) as Figure[];
    } catch (e) {
      this.drawnSelection = ''; // drawn again at the next refresh
      throw e;
    }
    if (key !== this.drawnSelection) return;
    this.figures.replaceChildren();
    for (const figure of figures) {
      const node = element('div', 'lmc-runs-figure lmc-plotly');
      this.figures.append(node);
      const layout = {
        ...(figure.layout ?? {}),
        height: FIGURE_HEIGHT,
        autosize: true,
        margin: { l: 50, r: 10, t: 40, b: 40 },
        legend: { orientation: 'h' },
      };
      await plotly.react(node, figure.data ?? [], themeLayout(layout), {
        ...(figure.config ?? {}),
        displaylogo: false,
        displayModeBar: false,
        responsive: true,
      });
    }
  }

  private insert(): void {
    const hashes = this.rows.filter((r) => this.selected.has(r.hash)).map((r) => r.hash);
    const problem = this.insertCell(selectionCell(this.connection.store, hashes));
    this.statusLine.textContent =
      problem ?? `inserted a cell loading ${hashes.length} unit${hashes.length === 1 ? '' : 's'}`;
    this.statusLine.classList.toggle('lmc-runs-error', problem !== null);
  }
}
