/**
 * The kernel's sockets: tslab's ZmqServer binds them and runs the receive loops and the
 * heartbeat; this subclass replaces its message handling. Every message's HMAC is checked
 * before anything in it is read (tslab parsed first and compared with `==`), replies have the
 * right types (tslab answered comm_info with a complete_reply), and the requests tslab ignored
 * get answers: history, interrupt, comms (comms.ts; the Runs panel's target, runs-comm.ts).
 */
import type * as zmq from 'zeromq';
import { ZmqServer } from 'tslab/dist/jupyter';
import { kernelLog, type ExecuteRequest, type LmcJupyterHandler } from './handler';
import type { HistoryRequest } from './history';
import { Comms } from './comms';
import { runsTarget } from './runs-comm';
import { decode, encode, MessageFactory, type Message, type Signer } from './wire';

type Socket = zmq.Router | zmq.Publisher;

/** Serves one kernel: the connection file's sockets, answering with `handler`. */
export class LmcKernelServer extends ZmqServer {
  private readonly messages = new MessageFactory();
  /** zeromq allows one send in flight per socket: sends are chained. */
  private readonly sending = new Map<Socket, Promise<void>>();
  private closing = false;
  private readonly comms = new Comms([runsTarget]);

  constructor(
    private readonly lmc: LmcJupyterHandler,
    connectionFile: string,
    private readonly signer: Signer,
  ) {
    super(lmc, connectionFile);
  }

  /** Binds the sockets and says so on iopub. */
  override async init(): Promise<void> {
    await super.init();
    this.send(this.iopub, this.messages.create('status', { execution_state: 'starting' }, null));
  }

  /** Called by tslab's receive loops for each message on shell and on control (concurrently). */
  override async handleShellMessage(sock: zmq.Router, ...frames: Buffer[]): Promise<void> {
    let request: Message;
    try {
      request = decode(frames, this.signer);
    } catch (err) {
      // Dropped unanswered: a reply would tell a stranger that the port is a kernel.
      kernelLog(`dropped a message: ${(err as Error).message}`);
      return;
    }
    const publish = (msgType: string, content: Record<string, unknown>) =>
      this.send(this.iopub, this.messages.create(msgType, content, request));
    const reply = (msgType: string, content: Record<string, unknown>) =>
      this.send(sock, this.messages.reply(request, msgType, content));
    publish('status', { execution_state: 'busy' });
    try {
      await this.dispatch(request, reply, publish);
    } catch (err) {
      const error = err as Error;
      kernelLog(`${request.header.msg_type} failed: ${error.stack ?? error.message}`);
      const type = request.header.msg_type.replace(/_request$/, '_reply');
      if (type !== request.header.msg_type)
        reply(type, { status: 'error', ename: error.name, evalue: error.message, traceback: [] });
    } finally {
      publish('status', { execution_state: 'idle' });
    }
  }

  private async dispatch(
    request: Message,
    reply: (msgType: string, content: Record<string, unknown>) => void,
    publish: (msgType: string, content: Record<string, unknown>) => void,
  ): Promise<void> {
    const content = request.content;
    switch (request.header.msg_type) {
      case 'kernel_info_request':
        return reply('kernel_info_reply', this.lmc.handleKernel());
      case 'execute_request':
        if (typeof content.code !== 'string') throw new TypeError('execute_request without a code string');
        return reply('execute_reply', { ...(await this.lmc.execute(content as unknown as ExecuteRequest, publish)) });
      case 'is_complete_request':
        return reply('is_complete_reply', { ...this.lmc.handleIsComplete(content as { code: string }) });
      case 'inspect_request':
        return reply('inspect_reply', { ...this.lmc.handleInspect(content as never) });
      case 'complete_request':
        return reply('complete_reply', { ...this.lmc.handleComplete(content as never) });
      case 'history_request':
        return reply('history_reply', this.lmc.handleHistory(content as HistoryRequest));
      case 'comm_info_request':
        return reply('comm_info_reply', { status: 'ok', comms: this.comms.info(content.target_name) });
      case 'comm_open':
        return this.comms.opened(content, publish);
      case 'comm_msg':
        return this.comms.message(content, publish);
      case 'comm_close':
        return this.comms.closed(content);
      case 'interrupt_request':
        this.lmc.interrupt();
        return reply('interrupt_reply', { status: 'ok' });
      case 'shutdown_request': {
        reply('shutdown_reply', { status: 'ok', restart: content.restart === true });
        setImmediate(() => void this.shutdown());
        return;
      }
      default:
        kernelLog(`ignored a ${request.header.msg_type} message`);
    }
  }

  /** Flushes what is being sent, closes the sockets and the compiler, and ends the process. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.all(this.sending.values());
    // Let zeromq hand the last frames (shutdown_reply, idle) to the transport before closing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.close();
    process.exit(0);
  }

  /**
   * After the watchdog terminated JavaScript, V8 has dropped the microtasks that were queued at
   * that moment, among them possibly the continuation of a send chain: start the chains anew.
   */
  resetSendChains(): void {
    this.sending.clear();
  }

  private send(sock: Socket, message: Message): void {
    const frames = encode(message, this.signer);
    const previous = this.sending.get(sock) ?? Promise.resolve();
    const next = previous
      .then(() => sock.send(frames))
      .catch((err: Error) => {
        if (!this.closing) kernelLog(`send failed: ${err.message}`);
      });
    this.sending.set(sock, next);
  }
}
