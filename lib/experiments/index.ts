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
// What a notebook or script uses; the executor's plumbing (plans, the registry, the worker pool,
// state bytes) is imported from its module by the layers above, never through here.
export {
  UNIT_KINDS,
  type UnitKind,
  type UnitRef,
  type UnitEvent,
  type UnitResult,
  type UnitCall,
  type ExperimentContext,
  type UnitExecutor,
  type ExecutorOutcome,
} from './unit';
export { experimentContext, type ExperimentOptions } from './context';
export { datasetFingerprint } from './fingerprint';
export { defaultWorkers } from './pool';
export { unitLabel, describeUnit } from './keys';
export {
  trunk,
  trunkCall,
  trunkResult,
  trunkKey,
  readState,
  type TrunkResult,
  type TrunkOptions,
  type TrunkSpec,
} from './trunk';
export {
  maskKey,
  readMask,
  loadMask,
  storeMask,
  type MaskHolder,
  type StoredMask,
  type MaskSpec,
  type MaskKey,
} from './masks';
export {
  copy,
  copyCall,
  copyResult,
  copyKey,
  type CopySpec,
  type CopySummary,
  type CopyResult,
  type CopyCallSpec,
} from './copy';
export {
  impLevel,
  impLevelCall,
  impLevelResult,
  impLevelKey,
  impRun,
  impRunCalls,
  type ImpLevelOptions,
  type ImpLevelSummary,
  type ImpLevelResult,
  type ImpLevelSpec,
  type ImpBaselines,
  type ImpRunOptions,
  type ImpRunLevel,
  type ImpRunResult,
} from './imp';
export {
  instabilityPair,
  instabilityTrunkSeed,
  pairCall,
  pairResult,
  type PairSpec,
  type PairSummary,
  type PairResult,
  type PairCallSpec,
} from './pair';
export {
  instabilitySweep,
  sweepCalls,
  type SweepOptions,
  type SweepResult,
  type SweepSubnetwork,
  type SweepSubnetworkContext,
} from './sweep';
export {
  quickstartPlan,
  quickstartCalls,
  runQuickstart,
  type QuickstartPlan,
  type QuickstartOverrides,
  type QuickstartResults,
} from './quickstart';
export {
  sparseSweep,
  SUBNETWORK_KINDS,
  type SubnetworkKind,
  type SparseSweepOptions,
  type SparseSweepResult,
} from './sparse';
export {
  throughoutSweep,
  throughoutUnit,
  type ThroughoutSweepOptions,
  type ThroughoutSweepResult,
  type ThroughoutUnitSpec,
} from './throughout';
export {
  listRuns,
  listPairRuns,
  runsTable,
  pairCurves,
  presetOfTraining,
  type PairRunRow,
  type PairCurve,
  type PresetMatch,
} from './runs';
export type { RunRow, RunList } from '../io/wire';
