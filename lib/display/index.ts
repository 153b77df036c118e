/**
 * Rich display: MIME bundles for figures, tables, tensors, masks, progress, and the paper's plots.
 * What a notebook uses; the HTML and text renderings behind each bundle are imported from their
 * modules by the kernel and the CLI.
 */
export { MIME_BUNDLE, registerDisplay, toMimeBundle, type MimeBundle, type Displayable } from './bundle';
export {
  figure,
  updateLayout,
  figureBundle,
  type Figure,
  type PlotlyTrace,
  type PlotlyLayout,
  type PlotlyConfig,
} from './figure';
export { figureToHtmlPage, type PageSection, type HtmlPageOptions } from './page';
export { tableBundle, tableView, type TableLike, type TableDisplayOptions } from './table';
export { tensorStats, tensorBundle, type TensorStats } from './tensor';
export { TENSOR_MIME, PROGRESS_MIME, PLOTLY_MIME, type TensorView, type ProgressBlock } from '../io/wire';
export { maskSummary, maskSummaryBundle, type LayerDensity, type MaskSummary } from './mask';
export {
  notebookProgress,
  type DisplayHandle,
  type NotebookProgressOptions,
  type ProgressState,
  type NotebookProgress,
} from './progress';
export {
  methodName,
  interpolationPlot,
  instabilityPlot,
  l2DistancePlot,
  accuracyStepPlot,
  accuracyDensityPlot,
  markInstability,
  l2InstabilityPlot,
  type PlotOptions,
  type StepAxisOptions,
  type DensityPlotOptions,
  type AccuracyStepOptions,
  type InstabilityMark,
} from './plots';
export { resetPlotlyInclusion } from './plotly-js';
export { heatmapSvg, type Matrix, type HeatmapOptions } from './heatmap';
export { sparklineSvg, type CurvePoint, type SparklineOptions } from './sparkline';
export { summarise, rowsOf, type Row, type Series, type SummaryPoint, type SummariseOptions } from './series';
export { pairSelectionFigures, type PairCurveInput } from './runs';
export { sideBySide, type SideBySideOptions } from './side-by-side';
export { unitBoardBundle, type UnitBoardRow } from './unit-board';
