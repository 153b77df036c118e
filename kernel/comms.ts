/**
 * Comms (Jupyter's custom messages, https://jupyter-client.readthedocs.io/en/latest/messaging.html#custom-messages):
 * the frontend opens a comm on a target this kernel serves, then both sides send JSON on it. A
 * comm on an unknown target is closed at once, as ipykernel does, so the frontend never waits.
 */
import type { Publish } from './cell-output';
import { kernelLog } from './handler';

/** One open comm, as its handler sees it. */
export interface Comm {
  readonly id: string;
  /** Sends `data` to the frontend (a comm_msg). */
  send(data: Record<string, unknown>): void;
}

/** What a target does with a comm it accepted. */
export interface CommHandler {
  message(data: Record<string, unknown>): Promise<void>;
  close?(): void;
}

/** A comm target: accepts a comm opened on `name`. */
export interface CommTarget {
  readonly name: string;
  open(comm: Comm, data: Record<string, unknown>): Promise<CommHandler>;
}

interface OpenComm {
  target: string;
  handler: CommHandler;
  /** Where the comm's messages go: iopub, with the latest request as parent. */
  publish: Publish;
}

/** The comms of one kernel. */
export class Comms {
  private readonly targets: ReadonlyMap<string, CommTarget>;
  private readonly open = new Map<string, OpenComm>();

  constructor(targets: readonly CommTarget[]) {
    this.targets = new Map(targets.map((t) => [t.name, t]));
  }

  /** The comm_info_reply's map: open comms, of one target when `targetName` is given. */
  info(targetName?: unknown): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const [id, c] of this.open)
      if (typeof targetName !== 'string' || targetName === c.target) out[id] = { target_name: c.target };
    return out;
  }

  /** comm_open: a known target gets the comm; any other is closed at once. */
  async opened(content: Record<string, unknown>, publish: Publish): Promise<void> {
    const id = content.comm_id;
    const target = typeof content.target_name === 'string' ? this.targets.get(content.target_name) : undefined;
    if (typeof id !== 'string' || !target || this.open.has(id)) {
      publish('comm_close', { comm_id: id, data: {} });
      return;
    }
    const entry: OpenComm = { target: target.name, publish, handler: { message: async () => undefined } };
    this.open.set(id, entry);
    const comm: Comm = { id, send: (data) => entry.publish('comm_msg', { comm_id: id, data }) };
    try {
      entry.handler = await target.open(comm, dataOf(content));
    } catch (e) {
      this.open.delete(id);
      kernelLog(`comm target ${target.name} refused a comm: ${(e as Error).message}`);
      publish('comm_close', { comm_id: id, data: { error: (e as Error).message } });
    }
  }

  /** comm_msg: to the comm's handler; replies go out with this message as parent. */
  async message(content: Record<string, unknown>, publish: Publish): Promise<void> {
    const entry = typeof content.comm_id === 'string' ? this.open.get(content.comm_id) : undefined;
    if (!entry) return;
    entry.publish = publish;
    await entry.handler.message(dataOf(content));
  }

  /** comm_close from the frontend. */
  closed(content: Record<string, unknown>): void {
    const id = content.comm_id;
    const entry = typeof id === 'string' ? this.open.get(id) : undefined;
    if (!entry) return;
    this.open.delete(id as string);
    entry.handler.close?.();
  }
}

function dataOf(content: Record<string, unknown>): Record<string, unknown> {
  const data = content.data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}
