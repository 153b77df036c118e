/**
 * The kernel's request handler: tslab's JupyterHandlerImpl (kept for inspect, complete and
 * shutdown), with execution rebuilt around tslab's executor so that a cell's outcome reaches
 * the frontend as Jupyter expects: execute_input, streams, an execute_result carrying the last
 * value's own MIME bundle, an `error` with ename/evalue/traceback, and replies that respect
 * stop_on_error. tslab's executor reports the last value and errors only by printing them to
 * the console it is given; this handler gives it one that captures them instead.
 */
import { JupyterHandlerImpl } from 'tslab/dist/jupyter';
import { createExecutor, type ConverterSet, type Executor } from 'tslab/dist/executor';
import tslabJupyter = require('tslab/dist/jupyter');
import { toMimeBundle, type MimeBundle } from '../lib/display/bundle';
import { setInterruptSignal } from '../lib/train/trainer';
import { tf } from '../lib/tf';
import { CellRegistry, instrument, originalColumn, runNamed, ts, type InstrumentedCell } from './cell-lines';
import { compileError, runtimeError, type CellDiagnostic, type ErrorContent } from './errors';
import { History, type HistoryItem, type HistoryRequest } from './history';
import { isComplete, type IsCompleteReply } from './is-complete';
import { calleeEnd } from './call-site';
import { isDisplayHandle, setOutputSink, type OutputSink } from './runtime';
import { PROTOCOL_VERSION } from './wire';
import { STALL_MS } from './watchdog';
import { CellOutput, type OutputLimits, type Publish } from './cell-output';
import { settingFallback, settingOrDefault, type SettingKey } from '../lib/settings';

/** The fields of an execute_request that this kernel reads. */
export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
}

/** The content of an execute_reply. */
export type ExecuteReply =
  | { status: 'ok'; execution_count: number; user_expressions: Record<string, unknown>; payload: unknown[] }
  | ({ status: 'error'; execution_count: number } & ErrorContent)
  | { status: 'aborted' };

/** What the launcher tells the handler about the kernel. */
export interface KernelDescription {
  implementationVersion: string;
  /** Shown by consoles at start (filled in after the init cell, which picks the backend). */
  banner: string;
}

/** The kernel's settings, read once at start; a malformed one is reported (see `problems`) and its default used. */
interface KernelSettings {
  /** How long a cell may take to honour an interrupt cooperatively before it is abandoned (ms). */
  graceMs: number;
  limits: OutputLimits;
  /** The errors of malformed settings: shown on stderr of the first cell and in the kernel's log. */
  problems: string[];
}

function kernelSettings(): KernelSettings {
  const problems: string[] = [];
  // A kernel that exits at start shows only "restarting" in the
  // frontend: report the setting and go on with its default.
  const read = (key: SettingKey & ('interruptGraceMs' | 'textLimitMb' | 'displayLimitMb')): number => {
    const fallback = settingFallback(key);
    try {
      return settingOrDefault(key);
    } catch (err) {
      problems.push(`${(err as Error).message}; using ${fallback} until it is fixed and the kernel restarted`);
      return fallback;
    }
  };
  return {
    graceMs: read('interruptGraceMs'),
    limits: { text: read('textLimitMb') * 2 ** 20, display: read('displayLimitMb') * 2 ** 20 },
    problems,
  };
}

/** tslab's executor prints diagnostics with exactly this format string (tslab is pinned). */
const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';

/** What the executor reported during one cell. */
interface Capture {
  result: { value: unknown } | null;
  diagnostics: CellDiagnostic[];
  thrown: unknown[];
  cell: InstrumentedCell;
}

/** The cell running now: what an interrupt acts on. */
interface Running {
  controller: AbortController;
  grace?: NodeJS.Timeout;
  /** Its JavaScript was stopped by the watchdog (it held the thread through an interrupt). */
  terminated?: boolean;
  /**
   * Settles when the watchdog stopped the cell. Stopping unwinds all JavaScript on the stack, so
   * a cell stopped in its synchronous part (a busy loop right after a long compile) never
   * settles the executor's promise: the cell waits on this too (see `startInOwnTask`).
   */
  stopped: Promise<false>;
  stop: () => void;
}

function newRunning(): Running {
  let stop = () => {};
  const stopped = new Promise<false>((resolve) => {
    stop = () => resolve(false);
  });
  return { controller: new AbortController(), stopped, stop };
}

/** What the handler tells the watchdog (kernel/watchdog.ts). */
export interface CellWatch {
  cellStarted(): void;
  cellEnded(): void;
}

/**
 * After JavaScript was terminated mid-way, TensorFlow.js may be left inside a tidy scope or a
 * gradient tape: close them, so that later tensors are tracked and freed as usual. (tfjs 4.22's
 * engine state, pinned.)
 */
function closeOpenTensorScopes(): number {
  const engine = tf.engine() as unknown as {
    state: { scopeStack: unknown[]; activeTape: unknown; gradientDepth: number; kernelDepth: number };
    endScope(): void;
  };
  let closed = 0;
  while (engine.state.scopeStack.length > 0) {
    engine.endScope();
    closed++;
  }
  engine.state.activeTape = null;
  engine.state.gradientDepth = 0;
  engine.state.kernelDepth = 0;
  return closed;
}

/**
 * `start()` run where stopping it harms nothing else, its result as a promise. Stopping
 * JavaScript unwinds the stack and drops every microtask queued at that moment: run inline, it
 * would take the kernel's own pending continuations with it (the reply to the request). So it
 * runs in a task of its own (setImmediate), whose microtask queue holds only the cell's work,
 * and inside a microtask of that task: Node aborts the process when JavaScript is stopped in a
 * macrotask's callback itself ("async hook stack has become corrupted"), not in a microtask.
 */
function startInOwnTask<T>(start: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    setImmediate(() => {
      Promise.resolve()
        .then(() => resolve(start()))
        .catch(reject);
    });
  });
}

const realStderrWrite = process.stderr.write.bind(process.stderr);

/** The kernel's own log line (to the real stderr, i.e. the Jupyter server's log). */
export function kernelLog(message: string): void {
  realStderrWrite(`[lmc-lab kernel] ${message}\n`);
}

/** Handles requests for one kernel process; `execute` runs cells one at a time in arrival order. */
export class LmcJupyterHandler extends JupyterHandlerImpl {
  private readonly exec: Executor;
  private readonly cells = new CellRegistry();
  private readonly history = new History();
  private capture: Capture | null = null;
  private running: Running | null = null;
  /** Where output goes: the running cell's iopub, else the last cell's (late output, as ipykernel). */
  private output: Publish | null = null;
  /** Told when cells start and end, so it can stop one that holds the thread through an interrupt. */
  watch: CellWatch | null = null;
  private count = 0;
  private unnamed = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests waiting in `queue`, so that a failing cell can abort them (stop_on_error). */
  private readonly waiting = new Set<{ aborted: boolean }>();
  private aborting = false;
  private readonly settings = kernelSettings();

  /** Builds tslab's executor over `convs`, resolving bare imports from `rootDir` as tslab does. */
  constructor(
    convs: ConverterSet,
    rootDir: string,
    readonly description: KernelDescription,
  ) {
    // The executor needs its console before `this` exists: route through a late-bound holder.
    const self: { handler?: LmcJupyterHandler } = {};
    const console = {
      log: (value: unknown) => self.handler?.onExecutorResult(value),
      error: (...args: unknown[]) => self.handler?.onExecutorError(args),
    };
    const executor = createExecutor(rootDir, convs, console);
    super(executor, false);
    this.exec = executor;
    self.handler = this;
    for (const problem of this.settings.problems) kernelLog(problem);
  }

  private onExecutorResult(value: unknown): void {
    if (this.capture) this.capture.result = { value };
  }

  private onExecutorError(args: unknown[]): void {
    const capture = this.capture;
    if (!capture) {
      realStderrWrite(`${args.map(String).join(' ')}\n`);
    } else if (args[0] === DIAGNOSTIC_FORMAT) {
      const [, file, line, column, message] = args as [string, string, number, number, string];
      const inCell = file === '';
      // Markers sit only in the cell, and only move columns on their own line.
      const col = inCell ? originalColumn(capture.cell, line - 1, column - 1) + 1 : column;
      capture.diagnostics.push({ file: file.trim(), line, column: col, message });
    } else {
      capture.thrown.push(args[0]);
    }
  }

  override handleKernel() {
    return {
      status: 'ok' as const,
      protocol_version: PROTOCOL_VERSION,
      implementation: 'lmc-lab',
      implementation_version: this.description.implementationVersion,
      language_info: {
        name: 'typescript',
        // The TypeScript that compiles the cells (tslab's pinned compiler), not the project's.
        version: ts.version,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        pygments_lexer: 'typescript',
        // As tslab: this combination turns on TypeScript highlighting in Notebook and JupyterLab.
        codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
      },
      banner: this.description.banner,
    };
  }

  /** tslab's inspection, and inside a call's parentheses (`lmc.trainFrom(|`) that of the function called. */
  override handleInspect(
    request: Parameters<JupyterHandlerImpl['handleInspect']>[0],
  ): ReturnType<JupyterHandlerImpl['handleInspect']> {
    const reply = super.handleInspect(request);
    if (reply.found) return reply;
    const callee = calleeEnd(String(request.code ?? ''), Number(request.cursor_pos));
    return callee === null ? reply : super.handleInspect({ ...request, cursor_pos: callee });
  }

  override handleIsComplete(request: { code: string }): IsCompleteReply {
    return isComplete(String(request.code ?? ''));
  }

  /** The content of a history_reply. */
  handleHistory(request: HistoryRequest): { status: 'ok'; history: HistoryItem[] } {
    return { status: 'ok', history: this.history.query(request) };
  }

  /**
   * Queues a cell. With stop_on_error (the default), a failing cell aborts the requests that
   * were already queued behind it, and only those: tslab instead refused everything for 200 ms.
   */
  execute(request: ExecuteRequest, publish: Publish): Promise<ExecuteReply> {
    const ticket = { aborted: this.aborting };
    this.waiting.add(ticket);
    const run = this.queue.then(async (): Promise<ExecuteReply> => {
      this.waiting.delete(ticket);
      if (ticket.aborted) return { status: 'aborted' };
      const reply = await this.run(request, publish);
      if (reply.status === 'error' && request.stop_on_error !== false && request.silent !== true) {
        for (const t of this.waiting) t.aborted = true;
        // Requests still in the socket's buffer were sent before the client saw this error: abort them too.
        this.aborting = true;
        await new Promise((resolve) => setTimeout(resolve, 5));
        this.aborting = false;
      }
      return reply;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs code before serving (the init cell): silent, not in history, output to the kernel's log. */
  async runInit(code: string): Promise<{ value: unknown } | ErrorContent> {
    const publish: Publish = (type, content) => {
      if (type === 'stream') realStderrWrite(String(content.text));
    };
    const capture = await this.runCell(code, 'In[init]', publish);
    return 'ename' in capture ? capture : { value: capture.result?.value };
  }

  /**
   * Interrupt (SIGINT or interrupt_request): first abort the cell's signal, which training obeys
   * within one step; abandon the cell only if it has not finished after a grace period, or at once
   * on a second interrupt. Abandoning cannot stop code that ignores the signal: it only stops waiting.
   */
  interrupt(): void {
    const running = this.running;
    if (!running) return;
    if (running.controller.signal.aborted) {
      this.exec.interrupt();
      return;
    }
    running.controller.abort();
    running.grace = setTimeout(() => this.exec.interrupt(), this.settings.graceMs);
  }

  /** The watchdog stopped the running cell's JavaScript: tidy up after it and abandon the cell. */
  onTerminated(): void {
    const running = this.running;
    if (!running) return;
    running.terminated = true;
    running.stop();
    const closed = closeOpenTensorScopes();
    kernelLog(
      `stopped a cell that held the thread through an ` +
        `interrupt${closed > 0 ? `; closed ${closed} open tensor scope(s)` : ''}`,
    );
    this.exec.interrupt();
  }

  private async run(request: ExecuteRequest, publish: Publish): Promise<ExecuteReply> {
    const code = String(request.code ?? '');
    const silent = request.silent === true;
    const store = !silent && request.store_history !== false;
    if (store) this.count++;
    const count = this.count;
    const output = new CellOutput(
      silent ? (type, content) => type === 'stream' && publish(type, content) : publish,
      this.settings.limits,
    );
    try {
      return await this.runAndReply(code, count, store, output.publish);
    } finally {
      output.end();
    }
  }

  private async runAndReply(code: string, count: number, store: boolean, quiet: Publish): Promise<ExecuteReply> {
    quiet('execute_input', { code, execution_count: count });
    for (const problem of this.settings.problems.splice(0))
      quiet('stream', { name: 'stderr', text: `[lmc-lab] ${problem}\n` });
    const name = store ? `In[${count}]` : `In[-${++this.unnamed}]`;
    const outcome = await this.runCell(code, name, quiet);
    // Failed cells are history too (IPython keeps them: the input is what one wants to fix).
    if (store && 'ename' in outcome) this.history.add({ line: count, input: code, output: null });
    if ('ename' in outcome) return { status: 'error', execution_count: count, ...outcome };
    let output: string | null = null;
    if (outcome.result && !isDisplayHandle(outcome.result.value)) {
      try {
        const data = jsonBundle(toMimeBundle(outcome.result.value));
        output = typeof data['text/plain'] === 'string' ? data['text/plain'] : null;
        quiet('execute_result', { execution_count: count, data, metadata: {} });
      } catch (err) {
        // The value's own MIME_BUNDLE method threw: that is the cell's error.
        const error = runtimeError(err, this.cells);
        quiet('error', { ...error });
        if (store) this.history.add({ line: count, input: code, output: null });
        return { status: 'error', execution_count: count, ...error };
      }
    }
    if (store) this.history.add({ line: count, input: code, output });
    return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
  }

  /** Runs one cell through tslab's executor with output routed to `publish`; an error is also published. */
  private async runCell(code: string, name: string, publish: Publish): Promise<Capture | ErrorContent> {
    const cell = instrument(code);
    const capture: Capture = { result: null, diagnostics: [], thrown: [], cell };
    const running = newRunning();
    this.routeOutput(publish);
    setInterruptSignal(running.controller.signal);
    this.capture = capture;
    this.running = running;
    let ok = false;
    this.watch?.cellStarted();
    try {
      const record = (javascript: string) => this.cells.add({ filename: name, source: code, javascript });
      ok = await Promise.race([
        startInOwnTask(() => runNamed(name, record, () => this.exec.execute(cell.code))),
        running.stopped,
      ]);
    } catch (err) {
      capture.thrown.push(err);
    } finally {
      this.watch?.cellEnded();
      clearTimeout(running.grace);
      this.capture = null;
      this.running = null;
    }
    if (running.terminated) {
      const evalue =
        `the cell's code held the thread through the interrupt and was stopped after ${STALL_MS / 1000} s; ` +
        `the kernel and its variables are intact`;
      const error = { ename: 'Interrupted', evalue, traceback: [`Interrupted: ${evalue}`] };
      publish('error', { ...error });
      return error;
    }
    // A module cell (/** @module m */) reports diagnostics yet counts as run: show them as text.
    if (ok && capture.diagnostics.length > 0) {
      publish('stream', {
        name: 'stderr',
        text: compileError(capture.diagnostics, name, code).traceback.join('\n') + '\n',
      });
    }
    if (ok && capture.thrown.length === 0) return capture;
    const error =
      capture.diagnostics.length > 0 && !ok
        ? compileError(capture.diagnostics, name, code)
        : runtimeError(capture.thrown[0], this.cells);
    publish('error', { ...error });
    return error;
  }

  /**
   * An exception thrown by a cell's code outside the cell's own await chain (a timer, an event
   * handler, a promise nobody awaited): shown as an error output in the running cell, else in
   * the last cell that ran (the one that most likely started it), and in the kernel's log. The
   * kernel and its state live on.
   */
  reportAsyncError(error: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
    const content = runtimeError(error, this.cells);
    const where =
      origin === 'unhandledRejection'
        ? 'a promise that nothing awaited was rejected'
        : 'thrown outside the cell (a timer or an event handler)';
    const report = {
      ...content,
      traceback: [...content.traceback, '', `(${where}; the kernel and its variables are intact)`],
    };
    kernelLog(`${origin}: ${content.ename}: ${content.evalue}`);
    this.output?.('error', report);
  }

  /**
   * Sends the process's stdout, stderr and displays to the cell
   * (and leaves them there, as ipykernel does, for late output).
   */
  private routeOutput(publish: Publish): void {
    this.output = publish;
    const stream = (name: 'stdout' | 'stderr') =>
      ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        publish('stream', { name, text });
        const done = typeof encoding === 'function' ? encoding : callback;
        if (typeof done === 'function') process.nextTick(done as () => void);
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = stream('stdout');
    process.stderr.write = stream('stderr');
    const sink: OutputSink = {
      display: (content, update) =>
        publish(update ? 'update_display_data' : 'display_data', { ...content, data: jsonBundle(content.data) }),
      clearOutput: (wait) => publish('clear_output', { wait }),
    };
    setOutputSink(sink);
    // tslab's own display API (tslab.display, tslab.newDisplay) writes through this module variable.
    (tslabJupyter as unknown as { lastWriteDisplayData: OutputSink['display'] }).lastWriteDisplayData = sink.display;
  }
}

/** A bundle as JSON: binary data (PNG bytes) base64-encoded, as the protocol wants. */
function jsonBundle(bundle: MimeBundle): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, value] of Object.entries(bundle)) {
    out[mime] = value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
  }
  return out;
}
