/**
 * The JSON lmc-lab's kernel sends to its JupyterLab extension, declared once: the library writes
 * these shapes and labextension/src reads them, both importing this file. It imports nothing, so
 * the extension's browser build compiles it as it is. The unions of store states and scales are
 * spelled out; the library assigns its own types into them, so they cannot drift apart silently.
 */

/** The kernelspec's name: the Runs panel starts its kernel by it. */
export const KERNEL_NAME = 'lmc-lab';

/** The comm target of the Runs panel (kernel/runs-comm.ts answers on it). */
export const RUNS_TARGET = 'lmc-lab.runs';

/** plotly's own MIME type: figures as JSON, drawn by the extension's renderer. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/**
 * lmc-lab's MIME type of a tensor view, drawn by the JupyterLab
 * extension (its renderer builds the DOM from this JSON).
 */
export const TENSOR_MIME = 'application/vnd.lmc-lab.tensor+json';

/** A tensor as the extension draws it: every number already formatted here. */
export interface TensorView {
  /** "Tensor" or "Variable 'dense1/kernel'". */
  kind: string;
  dtype: string;
  /** "[300, 100]". */
  shape: string;
  size: number;
  /** Statistic name and formatted value, in display order. */
  stats: [string, string][];
  /** "values:" or "values, seen as [a, b]:". */
  seenAs: string;
  /** The corner preview, "…" marking gaps. */
  preview: string[][];
  /** 2-D tensors (masks included): the heatmap. */
  heatmap: HeatmapData | null;
}

/** A heatmap ready to draw: one SVG path per shade, in a cols x rows viewBox shown at width x height px. */
export interface HeatmapData {
  rows: number;
  cols: number;
  width: number;
  height: number;
  /** `fill` is "#rrggbb"; `d` holds only "M x y h w v 1 h -w z" runs. */
  paths: { fill: string; d: string }[];
  /** The colour range in words, and the block size when the matrix was reduced. */
  legend: string;
}

/**
 * Progress as data, for lmc-lab's JupyterLab extension: one block per run, with the state's numbers
 * and status text as the HTML shows them (so the renderer formats nothing itself). The HTML and
 * text stay for front ends without the extension.
 */
export const PROGRESS_MIME = 'application/vnd.lmc-lab.progress+json';

/** One block of `PROGRESS_MIME`. */
export interface ProgressBlock {
  label: string;
  /** Fraction of the run done, in [0, 1]. */
  fraction: number;
  /** 'running', 'done' (reached the end) or 'stopped' (ended early). */
  state: 'running' | 'done' | 'stopped';
  /** "42%", "done", "interrupted at step 1234". */
  status: string;
  /** "step 120/400", "loss 0.312", "ETA 2m 10s", ... */
  details: string[];
  step: number;
  endStep: number;
  etaSeconds: number | null;
  /** [step, loss] at each redraw, the last 200. */
  losses: [number, number][];
}

/** One unit of the store, flattened. Fields that do not apply to its kind are null. */
export interface RunRow {
  kind: string;
  /** Full unit hash (its folder name). */
  hash: string;
  /** "instability-pair k=500 pair=0 init=272148…". */
  label: string;
  /** The Table 1 preset whose network and learning rate it trains (null when none matches). */
  preset: string | null;
  /** The scale at which its training config is that preset's exactly, seeds aside (null: a config of its own). */
  scale: 'paper' | 'quick' | 'smoke' | null;
  model: string | null;
  dataset: string | null;
  /** Training length as the config gives it ("40it", "24000it"). */
  training: string | null;
  k: number | null;
  level: number | null;
  pair: number | null;
  initSeed: number | null;
  dataOrderSeed: number | null;
  /** Fraction of prunable weights kept (pairs on a mask, IMP levels, sparse copies). */
  density: number | null;
  /** The store's UnitState (lib/store/inventory.ts assigns into this union, so a new state is a compile error here). */
  state: 'finished' | 'running' | 'unfinished' | 'corrupt';
  /** The state in words: "finished", "running 340/1000, ETA 12s", "unfinished at 300/1000", "corrupt". */
  status: string;
  /** Steps done and the last step, while it runs or where an unfinished one stopped. */
  step: number | null;
  to: number | null;
  /** Seconds left at this attempt's rate, for a running unit that reports progress. */
  etaSeconds: number | null;
  /** Who computes it ("pid 4242 on host", for a running unit). */
  owner: string | null;
  /** Finished instability pairs: instability and endpoint errors (fractions) and L2 distance. */
  instabilityTest: number | null;
  instabilityTrain: number | null;
  l2: number | null;
  /** Finished copies and IMP levels: test error (fraction). */
  testError: number | null;
  /** Latest change under the unit's folder (ISO 8601). */
  modified: string;
}

/** The answer to the Runs panel's `list` request. */
export interface RunList {
  store: string;
  units: RunRow[];
  /** When the list was read (ISO 8601). */
  time: string;
}
