/**
 * Units computed elsewhere (cluster jobs: other processes) as one progress display: a block per unit
 * with where it stands in words, in the progress MIME type the extension draws, with HTML and text
 * for other front ends. The rows come from the caller, already read from the shared store.
 */
import { PROGRESS_MIME, type ProgressBlock } from '../io/wire';
import type { MimeBundle } from './bundle';
import { formatDuration, formatPercent } from './format';
import { progressBlockHtml } from './progress';

/** One unit as the board shows it. */
export interface UnitBoardRow {
  label: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  /** Running: steps done and the last step, and seconds left (null before a step was timed). */
  step?: number;
  endStep?: number;
  etaSeconds?: number | null;
  /** What to say beside the state: "job 12, waiting for Dependency", "job 12", the error and log of a failure. */
  detail?: string;
}

/** One block of the progress display for `row`. */
function unitBlock(row: UnitBoardRow): ProgressBlock {
  const endStep = row.endStep ?? 0;
  const step = row.step ?? 0;
  const fraction = row.state === 'done' ? 1 : endStep > 0 ? Math.min(1, step / endStep) : 0;
  const status =
    row.state === 'running' && endStep > 0 ? formatPercent(fraction, 0) : row.state === 'queued' ? 'queued' : row.state;
  const details = [
    ...(row.state === 'running' && endStep > 0 ? [`step ${step}/${endStep}`] : []),
    ...(row.state === 'running' && row.etaSeconds != null ? [`ETA ${formatDuration(row.etaSeconds)}`] : []),
    ...(row.detail ? [row.detail] : []),
  ];
  return {
    label: row.label,
    fraction,
    state: row.state === 'done' ? 'done' : row.state === 'failed' ? 'stopped' : 'running',
    status,
    details,
    step,
    endStep,
    etaSeconds: row.state === 'running' ? (row.etaSeconds ?? null) : null,
    losses: [],
  };
}

/** The display of `rows`: one block each, in the order given. */
export function unitBoardBundle(rows: readonly UnitBoardRow[]): MimeBundle {
  const blocks = rows.map(unitBlock);
  const html = blocks.map((b) => progressBlockHtml(b)).join('');
  const text = blocks.map((b) => [`${b.label}: ${b.status}`, ...b.details].join('  ')).join('\n');
  return { [PROGRESS_MIME]: { blocks }, 'text/html': html, 'text/plain': text };
}
