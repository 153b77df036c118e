/**
 * What the notebooks compose, above display: the store context with progress, Table 1 rows with
 * their data, and the summary tables and rules the paper's sections share (mean ± std, matching,
 * IMP over k, pruning plans, parameter counts, Table 1, the store's pairs).
 */
export { notebookContext, type NotebookContextOptions, type UnitCounts } from './notebook-context';
export { presetData, dataNotice, DATA_DIR_VARIABLE, type PresetWithData, type PresetWithoutData } from './preset-data';
export { formatMeanStd, meanStdTable, type MeanStdMeasure } from './mean-std';
export { sweepSummaryRows, type SweepSummaryRow } from './sweep-summary';
export { denseBand, isMatching, matchingRow, type DenseBand, type MatchingRow } from './matching';
export { impOverK, type ImpOverKOptions } from './imp-over-k';
export { presetPruningPlan, type PresetPruningPlan } from './pruning-plan';
export {
  parameterCounts,
  table1Count,
  TABLE1_PARAMETER_COUNTS,
  type CountConvention,
  type ParameterCountRow,
} from './parameter-counts';
export { table1FromPresets, scheduleText, type Table1Row } from './table1';
export { storePairsTable, storePairRow, type StorePairRow } from './store-pairs';
export { stableK, type StableKOptions } from './stable-k';
export { realImagesData, REAL_IMAGES_PLANS, REAL_IMAGES_PRESET, type RealImagesPlan } from './real-images';
export { clusterBoard, boardRow, type ClusterBoard } from './cluster-board';
