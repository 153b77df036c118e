/**
 * Units of work cached in the store: trunks to k, copies k -> T, IMP levels, instability pairs,
 * sweeps over k, and the quick start. Each unit is identified by its canonical config (the
 * training config of lib/train plus its own fields, defaults left out), computed at most once,
 * resumable from checkpoints, and equal bit for bit to a fresh computation.
 *
 *   const ctx = experimentContext();                      // $LMC_HOME/store
 *   const w = await trunk(ctx, config, '500it');          // trains 0 -> 500 once, ever
 *   const level = await impLevel(ctx, config, 8);         // levels 0..8 on the way
 *   const pair = await instabilityPair(ctx, { config, k: 500, pair: 0 });
 */
export * from './unit';
export * from './context';
export { datasetFingerprint } from './fingerprint';
export { unitDefinition, describeCall, callConfig } from './registry';
export { UnitPool, sharedPool, defaultWorkers, POOLED_BACKENDS } from './pool';
export { encodeState, encodeMasks, decodeState, type DecodedState } from '../train/state-bytes';
export { trainInUnit, type ResumableRun } from './resumable';
export { trainKey, stepOf, unitLabel, describeUnit } from './keys';
export * from './trunk';
export * from './masks';
export * from './copy';
export * from './imp';
export * from './pair';
export * from './sweep';
export * from './quickstart';
export * from './sparse';
export * from './throughout';
export * from './runs';
