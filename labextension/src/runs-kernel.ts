/**
 * The Runs panel's line to the store: a session of its own (path RUNS_SESSION_PATH) on the lmc-lab
 * kernel, found again after a page reload instead of started twice, and a comm on the kernel's
 * `lmc-lab.runs` target (kernel/runs-comm.ts). A kernel of its own, not a notebook's: a notebook
 * busy training never delays the panel, and the panel works with no notebook open. Every process's
 * units show because the kernel reads the store's folders, where each running unit keeps its step.
 *
 * JupyterLab's service objects are typed here by the few members used: importing
 * @jupyterlab/services only for types would pull its whole dependency tree into the build.
 */
import { KERNEL_NAME, RUNS_TARGET, type RunList, type RunRow } from '../../lib/io/wire';

/** The kernelspec `lmc kernel install` writes. */
export { KERNEL_NAME };
/** The comm target of kernel/runs-comm.ts. */
export { RUNS_TARGET };
/** How long a request may wait for its answer (a store of thousands of units lists in well under this). */
const REQUEST_TIMEOUT_MS = 60_000;
/** The panel's session, one per server. */
export const RUNS_SESSION_PATH = '.lmc-lab/runs-panel';

interface CommMessage {
  content: { data: Record<string, unknown> };
}

interface Comm {
  onMsg: (message: CommMessage) => void | PromiseLike<void>;
  onClose: (message: unknown) => void | PromiseLike<void>;
  open(data?: Record<string, unknown>): unknown;
  send(data: Record<string, unknown>): unknown;
  close(): unknown;
  readonly isDisposed: boolean;
}

interface KernelConnection {
  createComm(targetName: string): Comm;
  readonly connectionStatus: string;
}

interface SessionConnection {
  readonly kernel: KernelConnection | null;
}

interface SessionModel {
  id: string;
  path: string;
}

/** The members of JupyterLab's session manager the panel uses. */
export interface SessionManager {
  ready: Promise<void>;
  findByPath(path: string): Promise<SessionModel | undefined>;
  connectTo(options: { model: SessionModel }): SessionConnection;
  startNew(options: { path: string; name: string; type: string; kernel: { name: string } }): Promise<SessionConnection>;
}

export type { RunRow, RunList };

/** Requests to the kernel's runs target, each answered by the reply carrying its id. */
export class RunsConnection {
  private comm: Comm | null = null;
  private opening: Promise<Comm> | null = null;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve(data: Record<string, unknown>): void; reject(e: Error): void }
  >();
  /** The store the kernel reads (from its hello). */
  store = '';

  constructor(private readonly sessions: SessionManager) {}

  /** Every unit of the store. */
  async list(): Promise<RunList> {
    return (await this.request({ type: 'list' })) as unknown as RunList;
  }

  /** The plotly figures of the selected instability pairs. */
  async figures(hashes: readonly string[]): Promise<Record<string, unknown>[]> {
    return (await this.request({ type: 'figures', hashes })).figures as Record<string, unknown>[];
  }

  private async request(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    const comm = await this.connect();
    const id = this.nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // A kernel that died or restarted answers nothing: give up, and open a new comm next time.
      timer = setTimeout(() => {
        this.waiting.delete(id);
        this.comm = null;
        reject(new Error(`the lmc-lab kernel did not answer the Runs panel within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
    });
    comm.send({ ...data, id });
    const answer = await reply.finally(() => clearTimeout(timer));
    if (answer.type === 'error') throw new Error(String(answer.message));
    return answer;
  }

  /** The open comm, opening the session and the comm first when there is none (or the last closed). */
  private connect(): Promise<Comm> {
    if (this.comm && !this.comm.isDisposed) return Promise.resolve(this.comm);
    this.opening ??= this.open().finally(() => (this.opening = null));
    return this.opening;
  }

  private async open(): Promise<Comm> {
    await this.sessions.ready;
    const model = await this.sessions.findByPath(RUNS_SESSION_PATH);
    const session = model
      ? this.sessions.connectTo({ model })
      : await this.sessions.startNew({
          path: RUNS_SESSION_PATH,
          name: 'lmc-lab Runs panel',
          type: 'lmc-lab-runs',
          kernel: { name: KERNEL_NAME },
        });
    const kernel = session.kernel;
    if (!kernel)
      throw new Error(
        `the Runs panel's session has no kernel; is the "${KERNEL_NAME}" kernel installed (lmc kernel install)?`,
      );
    const comm = kernel.createComm(RUNS_TARGET);
    const hello = new Promise<void>((resolve, reject) => {
      comm.onMsg = (message) => {
        const data = message.content.data;
        if (data.type === 'hello') {
          this.store = String(data.store);
          resolve();
          return;
        }
        const id = typeof data.id === 'number' ? data.id : -1;
        this.waiting.get(id)?.resolve(data);
        this.waiting.delete(id);
      };
      comm.onClose = (message) => {
        const why = (message as { content?: { data?: { error?: string } } }).content?.data?.error;
        const error = new Error(`the lmc-lab kernel closed the Runs panel's comm${why ? `: ${why}` : ''}`);
        reject(error);
        for (const w of this.waiting.values()) w.reject(error);
        this.waiting.clear();
        this.comm = null;
      };
    });
    comm.open({});
    await hello;
    this.comm = comm;
    return comm;
  }

  /** Closes the comm (the session stays, for the next page load). */
  dispose(): void {
    if (this.comm && !this.comm.isDisposed) this.comm.close();
    this.comm = null;
  }
}
