/** A one-line terminal progress bar (step, loss, rate, ETA) for long training runs. */
import type { TrainCallback } from '../train/trainer';

/** A callback that redraws a progress line on `stream` every `every` steps (TTY) or prints milestones (non-TTY). */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr, every = 10): TrainCallback {
  const tty = Boolean(stream.isTTY);
  let started = 0;
  let startStep = 0;
  let lastPrinted = -1;
  return {
    everySteps: 1,
    onStart: (ctx) => {
      started = performance.now();
      startStep = ctx.step;
    },
    onStep: (ctx) => {
      const done = ctx.step - startStep;
      const total = ctx.endStep - startStep;
      const last = ctx.step === ctx.endStep;
      // Without a TTY, print about ten lines per run rather than a line per redraw.
      const interval = tty ? every : Math.max(every, Math.ceil(total / 10));
      if (!last && done % interval !== 0) return;
      if (ctx.step === lastPrinted) return;
      lastPrinted = ctx.step;
      const seconds = (performance.now() - started) / 1000;
      const rate = done / Math.max(seconds, 1e-9);
      const eta = (total - done) / Math.max(rate, 1e-9);
      const width = 24;
      const filled = Math.round((width * done) / Math.max(total, 1));
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      const line = `${label} [${bar}] step ${ctx.step}/${ctx.endStep}  loss ${ctx.loss().toFixed(4)}  ${rate.toFixed(1)} it/s  ETA ${formatSeconds(eta)}`;
      stream.write(tty ? `\r${line}\x1b[K${last ? '\n' : ''}` : `${line}\n`);
    },
  };
}

/** "1m05s" style durations. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
