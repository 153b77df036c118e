/**
 * Training progress in a notebook: one display, updated in place (display_id), with step, loss,
 * accuracy, rate, ETA and a small loss curve. The last state stays in the notebook when training
 * ends. The kernel adapts tslab's `newDisplay()` to `DisplayHandle`.
 */
import { PROGRESS_MIME, type ProgressBlock } from '../io/wire';
import type { StepContext, TrainCallback } from '../train/trainer';
import type { MimeBundle } from './bundle';
import { escapeHtml, formatDuration, formatNumber, formatPercent } from './format';
import { sparklineSvg, type CurvePoint } from './sparkline';

/** A display that can be replaced in place (the kernel's handle on one output). */
export interface DisplayHandle {
  update(bundle: MimeBundle): void;
}

/** Options of `notebookProgress`. */
export interface NotebookProgressOptions {
  /** Shown before the numbers ("trunk k=0 -> T"). */
  label?: string;
  /** Least time between redraws in seconds (default 0.5): each redraw reads the loss from the device. */
  intervalSeconds?: number;
  /** Test accuracy (a fraction) of the model at `ctx`; called at `accuracyEvery` and at the end. */
  accuracy?: (ctx: StepContext) => number | Promise<number>;
  /** When to measure accuracy: 'epoch' (default) or every n steps. */
  accuracyEvery?: 'epoch' | number;
  /** Milliseconds now (default performance.now); tests pass a fake clock. */
  clock?: () => number;
}

/** What the display shows. */
export interface ProgressState {
  label: string;
  step: number;
  startStep: number;
  endStep: number;
  epoch: number;
  /** Loss at the last redraw (NaN before the first step). */
  loss: number;
  /** Last measured accuracy (fraction) and its step, when measured. */
  accuracy?: { step: number; value: number };
  /** Steps per second since the start. */
  rate: number;
  elapsedSeconds: number;
  etaSeconds: number;
  /** Loss at each redraw: the curve. */
  losses: CurvePoint[];
  done: boolean;
  /** Set by `finish` ("interrupted at step 1234"). */
  note?: string;
}

/** A training callback that keeps one notebook display up to date. */
export interface NotebookProgress extends TrainCallback {
  /** The current state (a copy). */
  state(): ProgressState;
  /** Marks the run finished (early: pass why) and redraws; the display keeps this last state. */
  finish(note?: string): void;
}

/** A callback that redraws `handle` at most every `intervalSeconds`, at accuracy checks and at the end. */
export function notebookProgress(handle: DisplayHandle, options: NotebookProgressOptions = {}): NotebookProgress {
  const clock = options.clock ?? (() => performance.now());
  const interval = (options.intervalSeconds ?? 0.5) * 1000;
  const every = options.accuracyEvery ?? 'epoch';
  let started = 0;
  let lastDraw = -Infinity;
  let s: ProgressState = emptyState(options.label ?? 'training');

  const draw = () => {
    const now = clock();
    lastDraw = now;
    s.elapsedSeconds = (now - started) / 1000;
    s.rate = (s.step - s.startStep) / Math.max(s.elapsedSeconds, 1e-9);
    s.etaSeconds = s.done ? 0 : (s.endStep - s.step) / s.rate;
    handle.update(progressBundle(s));
  };

  return {
    everySteps: 1,
    onStart: (ctx) => {
      started = clock();
      s = { ...emptyState(s.label), step: ctx.step, startStep: ctx.step, endStep: ctx.endStep, epoch: ctx.epoch };
      draw();
    },
    onStep: async (ctx) => {
      s.step = ctx.step;
      s.epoch = ctx.epoch;
      const last = ctx.step >= ctx.endStep;
      const due = every === 'epoch' ? ctx.step % ctx.itersPerEpoch === 0 : every > 0 && ctx.step % every === 0;
      let measured = false;
      if (options.accuracy && (due || last)) {
        s.accuracy = { step: ctx.step, value: await options.accuracy(ctx) };
        measured = true;
      }
      if (!last && !measured && clock() - lastDraw < interval) return;
      s.loss = ctx.loss();
      s.losses.push({ x: ctx.step, y: s.loss });
      if (last) s.done = true;
      draw();
    },
    state: () => ({ ...s, losses: [...s.losses] }),
    finish: (note) => {
      s.done = true;
      s.note = note;
      draw();
    },
  };
}

/** The state before training starts. */
function emptyState(label: string): ProgressState {
  return {
    label,
    step: 0,
    startStep: 0,
    endStep: 0,
    epoch: 0,
    loss: NaN,
    rate: 0,
    elapsedSeconds: 0,
    etaSeconds: NaN,
    losses: [],
    done: false,
  };
}

/** The parts of the status line, in order. */
function statusParts(s: ProgressState): string[] {
  const parts = [`step ${s.step}/${s.endStep}`, `epoch ${s.epoch.toFixed(2)}`];
  if (Number.isFinite(s.loss)) parts.push(`loss ${formatNumber(s.loss, 4)}`);
  if (s.accuracy) parts.push(`accuracy ${formatPercent(s.accuracy.value, 2)} (step ${s.accuracy.step})`);
  if (s.step > s.startStep) parts.push(`${formatNumber(s.rate, 3)} it/s`);
  parts.push(`elapsed ${formatDuration(s.elapsedSeconds)}`);
  if (!s.done) parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
  return parts;
}

/** The MIME bundle of a progress state: a bar, the numbers, the loss curve; plain text for consoles. */
export function progressBundle(s: ProgressState): MimeBundle {
  const total = Math.max(s.endStep - s.startStep, 1);
  const fraction = Math.min(1, Math.max(0, (s.step - s.startStep) / total));
  const finished = s.done && s.step >= s.endStep;
  const status = s.done ? (s.note ?? (finished ? 'done' : `stopped at step ${s.step}`)) : formatPercent(fraction, 0);
  const parts = statusParts(s);
  const width = 24;
  const filled = Math.round(width * fraction);
  const text = `${s.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${status}  ${parts.join('  ')}`;
  const block: ProgressBlock = {
    label: s.label,
    fraction,
    state: !s.done ? 'running' : finished && !s.note ? 'done' : 'stopped',
    status,
    details: parts,
    step: s.step,
    endStep: s.endStep,
    etaSeconds: s.done || !Number.isFinite(s.etaSeconds) ? null : s.etaSeconds,
    losses: s.losses
      .slice(-200)
      .filter((p) => Number.isFinite(p.y))
      .map((p) => [p.x, p.y]),
  };
  const curve =
    s.losses.length > 0 ? sparklineSvg(s.losses, { label: 'loss', colour: BLOCK_COLOURS[block.state] }) : '';
  return { [PROGRESS_MIME]: { blocks: [block] }, 'text/html': progressBlockHtml(block, curve), 'text/plain': text };
}

/** A block's colour by state: running blue, done green, stopped red. */
export const BLOCK_COLOURS: Readonly<Record<ProgressBlock['state'], string>> = {
  running: '#2166ac',
  done: '#1a9850',
  stopped: '#d73027',
};

/** The HTML of one progress block (for front ends without the extension): label, status, bar, details, `after`. */
export function progressBlockHtml(block: ProgressBlock, after = ''): string {
  const colour = BLOCK_COLOURS[block.state];
  return (
    '<div class="lmc-progress" style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;' +
    'font-size:13px;font-variant-numeric:tabular-nums;">' +
    `<div><b>${escapeHtml(block.label)}</b> <span style="color:${colour};">${escapeHtml(block.status)}</span></div>` +
    `<div style="width:320px;height:10px;background:#eee;margin:3px 0;"><div ` +
    `style="width:${(block.fraction * 100).toFixed(1)}%;height:10px;background:${colour};"></div></div>` +
    `<div>${block.details.map(escapeHtml).join(' · ')}</div>` +
    after +
    '</div>'
  );
}

/** Progress of several runs in one display: see `progressBoard`. */
export interface ProgressBoard {
  /** A progress callback for one more run, drawn as its own block of the display. */
  run(options?: Omit<NotebookProgressOptions, 'clock'>): NotebookProgress;
}

/**
 * One display that shows every run in progress (units training at once on worker threads), one
 * block each, plus the latest finished ones, `keep` blocks at most (oldest finished dropped first).
 * With one run it shows exactly that run's progress.
 */
export function progressBoard(handle: DisplayHandle, keep = 1): ProgressBoard {
  const blocks: { bundle: MimeBundle; done: boolean }[] = [];
  const draw = () => {
    if (blocks.length === 1) return handle.update(blocks[0].bundle);
    handle.update({
      [PROGRESS_MIME]: {
        blocks: blocks.flatMap((b) => (b.bundle[PROGRESS_MIME] as { blocks: ProgressBlock[] }).blocks),
      },
      'text/html': blocks.map((b) => String(b.bundle['text/html'])).join(''),
      'text/plain': blocks.map((b) => String(b.bundle['text/plain'])).join('\n'),
    });
  };
  return {
    run: (options = {}) => {
      const block = { bundle: {} as MimeBundle, done: false };
      let shown = false;
      const progress = notebookProgress(
        {
          update: (bundle) => {
            if (!shown) {
              shown = true;
              while (blocks.length >= Math.max(keep, 1)) {
                const finished = blocks.findIndex((b) => b.done);
                if (finished < 0) break;
                blocks.splice(finished, 1);
              }
              blocks.push(block);
            }
            block.bundle = bundle;
            block.done = progress.state().done;
            draw();
          },
        },
        options,
      );
      return progress;
    },
  };
}
