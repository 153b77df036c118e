/**
 * A one-line terminal progress bar (step, loss, rate, ETA) for long training runs. Runs that train
 * at once (units on worker threads) each keep a line of their own at the bottom of the terminal;
 * a finished run's last line stays above them.
 */
import type { TrainCallback } from '../train/trainer';

/** The live progress lines on one terminal: one per run in progress, redrawn in place. */
class Board {
  private readonly active = new Map<number, string>();
  private drawn = 0;
  private next = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  open(): number {
    return this.next++;
  }

  /** Shows `line` as run `id`'s; `last` leaves it above the lines still in progress. */
  show(id: number, line: string, last: boolean): void {
    if (last) this.active.delete(id);
    else this.active.set(id, line);
    const up = this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : '';
    const lines = [...this.active.values()].map((l) => `${l}\x1b[K`);
    this.stream.write(`\r${up}${last ? `${line}\x1b[K\n` : ''}${lines.join('\n')}\x1b[J`);
    this.drawn = lines.length;
  }
}

const boards = new WeakMap<NodeJS.WriteStream, Board>();

function boardOf(stream: NodeJS.WriteStream): Board {
  let board = boards.get(stream);
  if (!board) {
    board = new Board(stream);
    boards.set(stream, board);
  }
  return board;
}

/** A callback that redraws a progress line on `stream` every `every` steps (TTY) or prints milestones (non-TTY). */
export function terminalProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  every = 10,
): TrainCallback {
  const tty = Boolean(stream.isTTY);
  let started = 0;
  let startStep = 0;
  let lastPrinted = -1;
  const board = tty ? boardOf(stream) : undefined;
  let id = 0;
  return {
    everySteps: 1,
    onStart: (ctx) => {
      started = performance.now();
      startStep = ctx.step;
      if (board) id = board.open();
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
      const line =
        `${label} [${bar}] step ${ctx.step}/${ctx.endStep}  loss ${ctx.loss().toFixed(4)}  ` +
        `${rate.toFixed(1)} it/s  ETA ${formatSeconds(eta)}`;
      if (board) board.show(id, line, last);
      else stream.write(`${line}\n`);
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
