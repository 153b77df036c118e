/**
 * The run store: units of work identified by the hash of their canonical config, computed once
 * (across processes and machines), resumable from checkpoints, verified by checksum on every read.
 *
 *   const store = openStore();                        // $LMC_HOME/store, default ~/.lmc/store
 *   const unit = await store.compute('train', config, async (u) => {
 *     const from = await u.latestCheckpoint();        // resume an interrupted attempt
 *     ...; await u.checkpoint(step, { 'state.safetensors': bytes }, { step });
 *     await u.writeFile('final.safetensors', bytes);
 *     await u.writeTable('metrics', table);           // metrics.csv, .json, .arrow
 *     return { testAccuracy };                        // the summary, kept in the manifest
 *   });
 *   unit.summary; await unit.readFile('final.safetensors');
 */
export { openStore, storeRootProblem, Store, type StoreOptions, type Compute } from './store';
export { FinishedUnit, UnitWriter } from './unit';
export {
  canonicalJson,
  unitIdentity,
  unitHash,
  checkKind,
  isUnitHash,
  sha256,
  type Json,
  type UnitIdentity,
} from './canonical';
export { StoreError, type StoreErrorCode, type StoreEvent } from './errors';
export { defaultStoreRoot } from './layout';
export type { Checkpoint } from './checkpoints';
export type { Manifest } from './manifest';
export type { LockTiming } from './lock';
export { progressEtaSeconds, type UnitProgress } from './progress';
export {
  unitEtaSeconds,
  type UnitInfo,
  type UnitState,
  type ListOptions,
  type GcOptions,
  type GcReport,
  type VerifyReport,
} from './inventory';
export { exportTable, tableBytes, TABLE_FORMATS, type ExportableTable, type TableFormat } from './export';
export { formatUnitList, formatUnitDetails, formatGcReport, formatBytes, configSummary } from './format';
