/**
 * What one cell sends on iopub, kept to what a notebook can show. Text written to stdout and
 * stderr is gathered into one stream message per burst (a loop of 200,000 console.log calls is a
 * handful of messages, not 200,000), and past a limit per cell it is counted instead of sent: a
 * browser tab, a saved .ipynb and the Jupyter server's IOPub rate limit all break on tens of
 * megabytes of text. A single rich output (figure, table, result) over its own limit is replaced
 * by a note saying how large it was (plain text alone, such as a long string as the cell's value,
 * is held to the text limit). Both limits are settings (LMC_KERNEL_TEXT_LIMIT_MB,
 * LMC_KERNEL_DISPLAY_LIMIT_MB).
 */
/** Publishes on iopub with the request being handled as parent. */
export type Publish = (msgType: string, content: Record<string, unknown>) => void;

/** Limits in bytes. */
export interface OutputLimits {
  text: number;
  display: number;
}

/** How long text waits for more before it is sent (ms): short enough to read as live. */
const FLUSH_MS = 50;
/** Text buffered beyond this is sent at once. */
const FLUSH_BYTES = 256 * 1024;

const RICH = new Set(['display_data', 'update_display_data', 'execute_result']);

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MB`;
}

/** Bytes a value takes as JSON text (strings by their UTF-8 length). */
function jsonBytes(value: unknown): number {
  return typeof value === 'string'
    ? Buffer.byteLength(value, 'utf8')
    : Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** The first `bytes` bytes of `text`, cut at a character boundary. */
function headBytes(text: string, bytes: number): string {
  return Buffer.from(text, 'utf8')
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

/** One cell's output: `publish` is what the cell writes through; `end` sends what is pending and the tally. */
export class CellOutput {
  private pending: { name: 'stdout' | 'stderr'; chunks: string[]; bytes: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private textSent = 0;
  private droppedBytes = 0;
  private droppedLines = 0;

  constructor(
    private readonly send: Publish,
    private readonly limits: OutputLimits,
  ) {}

  /** Sends `type` with `content`, as Publish does, applying the limits. */
  readonly publish: Publish = (type, content) => {
    if (type === 'stream') {
      this.text(content.name === 'stderr' ? 'stderr' : 'stdout', String(content.text));
      return;
    }
    this.flush();
    this.send(type, RICH.has(type) ? this.bounded(type, content) : content);
  };

  /** Sends the text still waiting, then, if any was held back, says how much. */
  end(): void {
    this.flush();
    if (this.droppedBytes > 0) {
      this.send('stream', {
        name: 'stderr',
        text:
          `[lmc-lab] ${megabytes(this.droppedBytes)} more (${this.droppedLines.toLocaleString('en-US')} lines) of ` +
          `this cell's text were not shown.\n`,
      });
    }
    this.droppedBytes = 0;
    this.droppedLines = 0;
  }

  private text(name: 'stdout' | 'stderr', text: string): void {
    let bytes = Buffer.byteLength(text, 'utf8');
    const room = this.limits.text - this.textSent - (this.pending?.bytes ?? 0);
    if (bytes > room) {
      const kept = room > 0 ? headBytes(text, room) : '';
      const rest = text.slice(kept.length);
      if (this.droppedBytes === 0) {
        const note =
          `${kept.endsWith('\n') || kept === '' ? '' : '\n'}[lmc-lab] this cell printed more than ` +
          `${megabytes(this.limits.text)} of text; ` +
          'the rest is counted, not shown (write large output to a file, or raise LMC_KERNEL_TEXT_LIMIT_MB).\n';
        this.droppedBytes += Buffer.byteLength(rest, 'utf8');
        this.droppedLines += rest.split('\n').length - 1;
        this.append(name, kept + note, Buffer.byteLength(kept, 'utf8'));
        this.flush();
        return;
      }
      this.droppedBytes += bytes;
      this.droppedLines += text.split('\n').length - 1;
      return;
    }
    this.append(name, text, bytes);
    bytes = this.pending?.bytes ?? 0;
    if (bytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Adds to the pending message (a change of stream sends the other one first, keeping the order). */
  private append(name: 'stdout' | 'stderr', text: string, counted: number): void {
    if (this.pending !== null && this.pending.name !== name) this.flush();
    this.pending ??= { name, chunks: [], bytes: 0 };
    this.pending.chunks.push(text);
    this.pending.bytes += counted;
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    this.textSent += pending.bytes;
    this.send('stream', { name: pending.name, text: pending.chunks.join('') });
  }

  /** `content` of a rich output, or a note in its place when its data is over the limit. */
  private bounded(type: string, content: Record<string, unknown>): Record<string, unknown> {
    const data = (content.data ?? {}) as Record<string, unknown>;
    const bytes = Object.values(data).reduce<number>((sum, value) => sum + jsonBytes(value), 0);
    // Plain text is text whatever carries it (a long string as the cell's value): the text limit applies.
    const textOnly = Object.keys(data).every((mime) => mime === 'text/plain');
    const [limit, setting] = textOnly
      ? [this.limits.text, 'LMC_KERNEL_TEXT_LIMIT_MB']
      : [this.limits.display, 'LMC_KERNEL_DISPLAY_LIMIT_MB'];
    if (bytes <= limit) return content;
    const what = type === 'execute_result' ? "the cell's value" : 'a display';
    const note =
      `[lmc-lab] ${what} of ${megabytes(bytes)} (${Object.keys(data).join(', ')}) was not sent: over the ` +
      `${megabytes(limit)} limit per output (${setting}). Show a summary or a slice, save it to a file, ` +
      `or raise the limit.`;
    return { ...content, data: { 'text/plain': note }, metadata: {} };
  }
}
