/**
 * The extension's JupyterLab plugin: the Runs panel in the left side bar (runs-panel.ts), talking to
 * a kernel of its own (runs-kernel.ts), and inserting cells into the notebook last in focus.
 *
 * JupyterLab's application is typed here by the members used (see runs-kernel.ts for why).
 */
import type { Widget } from '@lumino/widgets';
import { RunsConnection, type SessionManager } from './runs-kernel';
import { RunsPanel, type InsertCell } from './runs-panel';

interface CellModelSource {
  cell_type: 'code';
  source: string;
}

/** A notebook panel, by the members "Insert cell" uses. */
interface NotebookPanelLike extends Widget {
  content: {
    activeCellIndex: number;
    model: { sharedModel: { insertCell(index: number, cell: CellModelSource): unknown } } | null;
  };
}

interface Signal<T> {
  connect(slot: (sender: unknown, args: T) => void): boolean;
}

interface Application {
  shell: {
    add(widget: Widget, area: 'left', options?: { rank?: number }): void;
    activateById(id: string): void;
    readonly currentWidget: Widget | null;
    readonly currentChanged?: Signal<{ newValue: Widget | null }>;
  };
  serviceManager: { sessions: SessionManager };
}

function isNotebookPanel(widget: Widget | null): widget is NotebookPanelLike {
  const content = (widget as Partial<NotebookPanelLike> | null)?.content;
  return typeof content?.model?.sharedModel?.insertCell === 'function';
}

/** Inserts below the active cell of the notebook most recently in focus. */
function cellInserter(app: Application): InsertCell {
  let last: NotebookPanelLike | null = isNotebookPanel(app.shell.currentWidget) ? app.shell.currentWidget : null;
  app.shell.currentChanged?.connect((_, change) => {
    if (isNotebookPanel(change.newValue)) last = change.newValue;
  });
  return (source) => {
    const model = last && !last.isDisposed ? last.content.model : null;
    if (!last || !model)
      return 'Open a notebook first: "Insert cell" adds the cell below the active cell of the notebook last in focus.';
    const index = last.content.activeCellIndex + 1;
    model.sharedModel.insertCell(index, { cell_type: 'code', source });
    last.content.activeCellIndex = index;
    app.shell.activateById(last.id);
    return null;
  };
}

const plugin = {
  id: '@lmc-lab/jupyterlab:runs',
  description: 'The Runs panel: the units of the lmc-lab store, live, with their curves.',
  autoStart: true,
  activate(app: Application): void {
    const panel = new RunsPanel(new RunsConnection(app.serviceManager.sessions), cellInserter(app));
    app.shell.add(panel, 'left', { rank: 900 });
  },
};

export default plugin;
