/**
 * The kernel's input history, answering history_request the way IPython does (tail, range,
 * search with a glob pattern). It lives in memory: one session per kernel process, numbered 1.
 */

/** One executed cell. */
export interface HistoryEntry {
  /** The execution count it ran under. */
  line: number;
  input: string;
  /** The text/plain of its result, if it had one. */
  output: string | null;
}

/** The fields of a history_request that this kernel reads. */
export interface HistoryRequest {
  output?: boolean;
  hist_access_type?: string;
  session?: number;
  start?: number;
  stop?: number | null;
  n?: number | null;
  pattern?: string;
  unique?: boolean;
}

/** A history_reply item: [session, line, input] or [session, line, [input, output]]. */
export type HistoryItem = [number, number, string | [string, string | null]];

/** This process's session number in replies. */
export const SESSION = 1;

/** Cells in execution order. */
export class History {
  private readonly entries: HistoryEntry[] = [];

  /** Records a cell that stored history. */
  add(entry: HistoryEntry): void {
    this.entries.push(entry);
  }

  /** The items a history_request asks for. */
  query(request: HistoryRequest): HistoryItem[] {
    const pick = (entries: HistoryEntry[]) =>
      entries.map((e): HistoryItem => [SESSION, e.line, request.output ? [e.input, e.output] : e.input]);
    switch (request.hist_access_type) {
      case 'tail':
        return pick(last(this.entries, request.n ?? 10));
      case 'range': {
        // Session 0 (or this session's number) is the current one; earlier sessions were never recorded.
        const session = request.session ?? 0;
        if (session !== 0 && session !== SESSION) return [];
        const start = request.start ?? 0;
        const stop = request.stop ?? Infinity;
        return pick(this.entries.filter((e) => e.line >= start && e.line < stop));
      }
      case 'search': {
        const pattern = globToRegExp(request.pattern ?? '*');
        let found = this.entries.filter((e) => pattern.test(e.input));
        if (request.unique) {
          // Keep the latest run of each input, in order of those latest runs.
          const latest = new Map<string, HistoryEntry>();
          for (const e of found) {
            latest.delete(e.input);
            latest.set(e.input, e);
          }
          found = [...latest.values()];
        }
        return pick(request.n == null ? found : last(found, request.n));
      }
      default:
        throw new Error(
          `history_request: hist_access_type "${request.hist_access_type}" is not one of tail, range, search`,
        );
    }
  }
}

function last<T>(items: T[], n: number): T[] {
  return n <= 0 ? [] : items.slice(-n);
}

/** A whole-string glob (sqlite GLOB, as IPython searches): * any run, ? one character, [...] a class. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
      out += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`;
      i = close;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
