/**
 * What the notebooks compose, above display: the store context with progress and Table 1 rows
 * with their data.
 */
export { notebookContext, type NotebookContextOptions } from './notebook-context';
export { presetData, dataNotice, DATA_DIR_VARIABLE, type PresetWithData, type PresetWithoutData } from './preset-data';
