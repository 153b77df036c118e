/**
 * The comm target of the JupyterLab extension's Runs panel, `lmc-lab.runs`. The panel runs a kernel
 * of its own (no notebook), so a notebook busy training never delays it; the store's folders say
 * what every process is computing. Requests carry an `id` that the reply repeats:
 *
 *   {type: 'list', id}                 -> {type: 'list', id, store, units: RunRow[], time}
 *   {type: 'figures', id, hashes}      -> {type: 'figures', id, figures: plotly figure JSON[]}
 *   anything failing                   -> {type: 'error', id, message}
 */
import type { Comm, CommHandler, CommTarget } from './comms';
import { RUNS_TARGET, type RunList } from '../lib/io/wire';

/** The target's name, as the extension opens it. */
export { RUNS_TARGET };

/** Serves the Runs panel from the default store ($LMC_HOME/store). */
export const runsTarget: CommTarget = {
  name: RUNS_TARGET,
  async open(comm: Comm): Promise<CommHandler> {
    // Loaded when the panel first asks: a kernel serving a notebook only never pays for it.
    const { openStore } = await import('../lib/store');
    const { listRuns, pairCurves } = await import('../lib/experiments/runs');
    const { pairSelectionFigures } = await import('../lib/display/runs');
    const store = openStore();
    comm.send({ type: 'hello', store: store.root });
    return {
      async message(data) {
        const id = data.id ?? null;
        try {
          if (data.type === 'list') {
            const list: RunList = { store: store.root, units: await listRuns(store), time: new Date().toISOString() };
            comm.send({ type: 'list', id, ...list });
          } else if (data.type === 'figures') {
            const hashes = Array.isArray(data.hashes)
              ? data.hashes.filter((h): h is string => typeof h === 'string')
              : [];
            comm.send({ type: 'figures', id, figures: pairSelectionFigures(await pairCurves(store, hashes)) });
          } else {
            comm.send({
              type: 'error',
              id,
              message: `unknown request type ${JSON.stringify(data.type)}; use 'list' or 'figures'`,
            });
          }
        } catch (e) {
          comm.send({ type: 'error', id, message: (e as Error).message });
        }
      },
    };
  },
};
