/**
 * lmc-lab: the library a notebook sees as `lmc`. The verbs a notebook reaches for first are at the
 * top level; everything else public is under one namespace per layer (`lmc.data`, `lmc.train`,
 * `lmc.prune`, `lmc.stability`, `lmc.store`, `lmc.experiments`, `lmc.display`, ...). The README's
 * "Library" section lists both, and a test keeps this file and that list equal.
 */
export { tf } from './tf';

// The verbs: start the backend, configure, train, run the paper's experiments, plot, tabulate.
export { initBackend } from './backend';
export { interruptSignal, trainFrom, presetConfig, type Scale, type TrainConfig } from './train';
export { notebookContext, presetData, meanStdTable } from './notebook';
export { instabilitySweep, sparseSweep, impRun } from './experiments';
export { interpolationPlot, instabilityPlot } from './display';
export { openStore } from './store';

// The layers, bottom to top (GUIDE.md §2).
export * as rng from './rng';
export * as backend from './backend';
export * as io from './io/safetensors';
export * as data from './data';
export * as models from './models';
export * as train from './train';
export * as prune from './prune';
export * as stability from './stability';
export * as store from './store';
export * as experiments from './experiments';
export * as cluster from './cluster';
export * as display from './display';
export * as notebook from './notebook';
