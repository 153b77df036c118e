/**
 * The worker thread of the unit pool (pool.ts): makes unit calls on its own backend and dataset
 * against the caller's store, one at a time, and reports events, progress and errors back.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend';
import { loadDataset } from '../data/registry';
import type { Dataset } from '../data/types';
import { openStore, type Store } from '../store';
import type { StepContext, TrainCallback } from '../train/trainer';
import { experimentContext } from './context';
import { datasetFingerprint } from './fingerprint';
import type { UnitRef } from './unit';
import { workerError, type FromWorker, type RemoteStep, type TaskSetup, type ToWorker } from './pool';

const port = parentPort;
if (!port)
  throw new Error(
    "lib/experiments/worker.js is the unit pool's worker thread; it is started by the pool, not run directly",
  );

const stores = new Map<string, Store>();
const controllers = new Map<number, AbortController>();

function post(message: FromWorker): void {
  port!.postMessage(message);
}

/** The dataset the caller used, loaded the same way here and checked to be the same content. */
function datasetOf(setup: TaskSetup): Dataset {
  const { name, dataDir, imageSize, fingerprint } = setup.dataset;
  const dataset = loadDataset(name, { dataDir, imageSize });
  const here = datasetFingerprint(dataset);
  if (here !== fingerprint) {
    throw new Error(
      `lmc-lab worker: dataset '${name}' from ${dataDir} reads as ${here} here but ${fingerprint} ` +
        `in the calling thread ` +
        '(did its files change during the run?); rerun, or set LMC_WORKERS=1 to compute in one thread',
    );
  }
  return dataset;
}

function storeOf(setup: TaskSetup): Store {
  const key = JSON.stringify(setup.store);
  let store = stores.get(key);
  if (!store) {
    store = openStore({
      root: setup.store.root,
      keepCheckpoints: setup.store.keepCheckpoints,
      ...setup.store.timing,
      onEvent: (event) => post({ type: 'store', id: current, event }),
    });
    stores.set(key, store);
  }
  return store;
}

/** The id of the call running now (store events carry it). */
let current = 0;

/** The numbers of a step context that cross to the calling thread. */
function stepNumbers(
  c: Pick<StepContext, 'step' | 'epoch' | 'itersPerEpoch' | 'startStep' | 'endStep'>,
  lr: number,
  loss: number,
): RemoteStep {
  return {
    step: c.step,
    epoch: c.epoch,
    itersPerEpoch: c.itersPerEpoch,
    startStep: c.startStep,
    endStep: c.endStep,
    lr,
    loss,
  };
}

/** A training callback that reports every step of a run to the calling thread. */
function reporter(id: number, runs: { count: number }, ref: UnitRef): TrainCallback {
  const run = runs.count++;
  return {
    everySteps: 1,
    onStart: (c) => post({ type: 'run-start', id, run, ref, at: stepNumbers(c, NaN, NaN), config: c.config }),
    // The loss is read every step: on wasm and cpu (the pooled backends) that is a copy of one float.
    onStep: (c) => post({ type: 'run-step', id, run, at: stepNumbers(c, c.lr, c.loss()) }),
  };
}

async function call(message: Extract<ToWorker, { type: 'call' }>): Promise<void> {
  const { id, setup } = message;
  current = id;
  const controller = new AbortController();
  controllers.set(id, controller);
  try {
    await initBackend(setup.backend);
    const runs = { count: 0 };
    const ctx = experimentContext({
      store: storeOf(setup),
      dataset: datasetOf(setup),
      checkpointEvery: setup.checkpointEvery,
      signal: controller.signal,
      workers: 1,
      callbacks: (ref) => [reporter(id, runs, ref)],
      onUnit: (event) => post({ type: 'unit', id, event }),
    });
    // The caller ran the call's dependencies before sending it here.
    const { unit, ref } = await ctx.run(message.call, { dependenciesDone: true });
    post({ type: 'done', id, hash: ref.hash, computed: unit.computed });
  } catch (e) {
    post({ type: 'failed', id, error: workerError(e) });
  } finally {
    controllers.delete(id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'call') void call(message);
  else if (message.type === 'abort')
    controllers.get(message.id)?.abort(new Error(`lmc-lab: cancelled (${message.reason})`));
});
