/**
 * Stops a cell's JavaScript that never yields (`await 0; while (true) {}`), which the kernel's
 * own SIGINT handler cannot: that handler runs on the main thread's event loop, which the loop
 * holds. The watchdog is a worker thread with its own event loop that
 *   - hears the interrupt through a small relay process: Jupyter signals the kernel's whole
 *     process group (jupyter_client's killpg), and the relay, in that group, writes a byte to the
 *     worker (worker threads receive no signals themselves);
 *   - sees whether the main thread is stuck: the main thread counts a shared heartbeat every
 *     HEARTBEAT_MS while a cell runs;
 *   - from the interrupt until that cell ends, whenever the heartbeat has not moved for STALL_MS
 *     outside TypeScript's compiler, ends the main thread's current JavaScript through
 *     the inspector (`Runtime.terminateExecution`, what V8 offers another thread); V8 cancels the
 *     termination once that JavaScript has unwound, so the event loop, the kernel and every
 *     variable live on.
 * The main thread then hears `terminated` and abandons the cell. V8 drops the microtasks that were
 * queued at that moment: the kernel restarts its own send chains, and a promise of the cell's that
 * was about to continue then never settles.
 */
import { spawn } from 'node:child_process';
import * as inspector from 'node:inspector';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** How often the main thread proves it is responsive while a cell runs (ms). */
const HEARTBEAT_MS = 100;
/**
 * How long after an interrupt a silent heartbeat means the main thread is stuck (ms). Code that
 * obeys the interrupt stops at its next check (training: the next step), so a step shorter than
 * this ends cleanly instead of being cut; a busy loop is stopped this long after the interrupt
 * (or after the compiler or a step in progress finished).
 */
export const STALL_MS = 2000;
/** How often the worker looks at the shared words while it decides (ms). */
const POLL_MS = 50;

/** Shared words: the heartbeat count; the running cell's number (0: none); 1 while TypeScript compiles. */
const BEAT = 0;
const CELL = 1;
const COMPILING = 2;

/** The relay: in the kernel's process group, it turns each SIGINT into one byte on stdout; it ends with its stdin. */
const RELAY = `process.on('SIGINT', () => process.stdout.write('i'));
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();`;

/** The main thread's side of the watchdog. */
export class Watchdog {
  private readonly shared = new Int32Array(new SharedArrayBuffer(12));
  private readonly worker: Worker;
  private beat: NodeJS.Timeout | null = null;
  private cells = 0;

  /** Starts the worker and its relay; `onTerminated` runs on the main thread after a stuck cell was stopped. */
  constructor(onTerminated: () => void, log: (line: string) => void) {
    this.worker = new Worker(__filename, { workerData: { role: 'lmc-kernel-watchdog', shared: this.shared } });
    this.worker.unref();
    this.worker.on('message', (message: { type: string; text?: string }) => {
      if (message.type === 'terminated') onTerminated();
      else if (message.type === 'log') log(String(message.text));
    });
    this.worker.on('error', (err) =>
      log(`watchdog failed: ${err.message}; a cell that never yields cannot be interrupted`),
    );
  }

  /** A cell starts: beat while it runs. */
  cellStarted(): void {
    Atomics.store(this.shared, CELL, ++this.cells);
    Atomics.add(this.shared, BEAT, 1);
    this.beat ??= setInterval(() => Atomics.add(this.shared, BEAT, 1), HEARTBEAT_MS);
    this.beat.unref();
  }

  /** The cell ended (or was abandoned). */
  cellEnded(): void {
    Atomics.store(this.shared, CELL, 0);
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
  }

  /** Runs TypeScript's compiler: never stopped mid-way (its state would outlive the cell), so the watchdog waits. */
  compiling<T>(compile: () => T): T {
    Atomics.store(this.shared, COMPILING, 1);
    try {
      return compile();
    } finally {
      Atomics.store(this.shared, COMPILING, 0);
    }
  }
}

/** The worker's side: the relay, the stall check, the termination. */
function watch(shared: Int32Array): void {
  const port = parentPort!;
  const log = (text: string) => port.postMessage({ type: 'log', text });
  const session = new inspector.Session();
  session.connectToMainThread();
  let deciding = false;
  const relay = spawn(process.execPath, ['-e', RELAY], { stdio: ['pipe', 'pipe', 'ignore'] });
  relay.on('error', (err) => log(`watchdog relay failed: ${err.message}`));
  relay.stdout!.on('data', () => {
    const cell = Atomics.load(shared, CELL);
    if (deciding || cell === 0) return;
    deciding = true;
    let beat = Atomics.load(shared, BEAT);
    let stalledSince = Date.now();
    const poll = setInterval(() => {
      // The interrupted cell ended (or another runs): nothing to stop.
      if (Atomics.load(shared, CELL) !== cell) return done();
      // A heartbeat or the compiler: not stuck now. The code may still hold the thread later
      // (a busy loop after an await, or after the compiler), so keep watching until the cell ends.
      const now = Atomics.load(shared, BEAT);
      if (now !== beat || Atomics.load(shared, COMPILING) === 1) {
        beat = now;
        stalledSince = Date.now();
      } else if (Date.now() - stalledSince >= STALL_MS) {
        session.post('Runtime.terminateExecution', (err) => {
          if (err) log(`could not stop the cell: ${err.message}`);
        });
        port.postMessage({ type: 'terminated' });
        done();
      }
    }, POLL_MS);
    const done = () => {
      clearInterval(poll);
      deciding = false;
    };
  });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === 'lmc-kernel-watchdog') {
  watch((workerData as { shared: Int32Array }).shared);
}
