/** Rich display: MIME bundles for figures, tables, tensors, masks, progress, and the paper's plots. */
export * from './bundle';
export * from './figure';
export * from './page';
export * from './table';
export * from './tensor';
export * from './mask';
export * from './progress';
export * from './plots';
export { plotlyScriptTag, plotlyJsVersion, resetPlotlyInclusion, isPlotlyIncluded } from './plotly-js';
export { heatmapSvg, type Matrix, type HeatmapOptions } from './heatmap';
export { sparklineSvg, type CurvePoint, type SparklineOptions } from './sparkline';
export { summarise, rowsOf, type Row, type Series, type SummaryPoint, type SummariseOptions } from './series';
export { escapeHtml, formatNumber, formatDuration } from './format';
export { pairSelectionFigures, type PairCurveInput } from './runs';
export { sideBySide, type SideBySideOptions } from './side-by-side';
