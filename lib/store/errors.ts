/**
 * What the store says when something goes wrong. Errors are thrown (the caller cannot go on);
 * events are reported (the store recovered, e.g. by recomputing, but a person should know).
 */

/** Why a store operation failed; `code` is for programs, the message names the path and the fix. */
export type StoreErrorCode =
  | 'INVALID_KIND'
  | 'INVALID_CONFIG'
  | 'INVALID_NAME'
  | 'INVALID_SUMMARY'
  | 'INVALID_STEP'
  | 'NOT_FOUND'
  | 'AMBIGUOUS'
  | 'NOT_A_STORE'
  | 'LOCK_LOST'
  | 'LOCK_TIMEOUT'
  | 'COMPUTE_FAILED'
  | 'CORRUPT'
  | 'IO';

/** A store failure; the message starts with the path concerned. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Something the store detected and handled, reported through `StoreOptions.onEvent`. */
export type StoreEvent =
  | {
      /** A finished unit failed verification; it is treated as unfinished and will be recomputed. */
      type: 'corrupt';
      kind: string;
      hash: string;
      /** The file that failed, relative to the unit folder ('manifest.json' when the manifest itself is bad). */
      file: string;
      problem: string;
      expected?: string;
      actual?: string;
      message: string;
    }
  | {
      /** A resume checkpoint failed its checksum and was discarded; an older one (or none) is used. */
      type: 'checkpoint-corrupt';
      kind: string;
      hash: string;
      step: number;
      file: string;
      problem: string;
      message: string;
    }
  | {
      /** A lock whose owner died (or stopped refreshing it) was removed. */
      type: 'lock-recovered';
      lock: string;
      owner: string;
      reason: string;
      message: string;
    }
  | {
      /** Another live process holds the unit's lock; this one waits for its result (reported again every 30 s). */
      type: 'waiting';
      kind: string;
      hash: string;
      owner: string;
      /** How long it has waited: 0 when the wait starts. */
      waitedSeconds: number;
      message: string;
    };

/** The errno code of a Node file-system error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** The first errno code along an error's cause chain (wrappers keep the original as `cause`). */
function rootCode(e: unknown): string | undefined {
  for (let at = e, depth = 0; at !== undefined && at !== null && depth < 8; at = (at as Error).cause, depth++) {
    const code = errnoCode(at);
    if (code) return code;
  }
  return undefined;
}

const DISK_FULL = 'the disk or quota is full: free space, or point LMC_HOME at a larger disk';
const NO_PERMISSION = 'no permission to write there: check the owner of the store, or set LMC_HOME';

/** A one-line reason for a caught value, adding what to do for a full disk or missing permissions (once). */
export function describeError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = rootCode(e);
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? DISK_FULL
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? NO_PERMISSION
        : undefined;
  return hint && !message.includes(hint) ? `${message} [${hint}]` : message;
}

/**
 * Wraps a file-system failure as a StoreError: "<path>: <doing> failed: <reason>". When the reason
 * already starts with a path inside `where` (a nested failure), that deeper path leads instead of
 * being repeated.
 */
export function ioError(where: string, doing: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  let lead = where;
  let reason = describeError(e);
  const cut = reason.startsWith(where) ? reason.indexOf(': ', where.length) : -1;
  if (cut > 0) {
    lead = reason.slice(0, cut);
    reason = reason.slice(cut + 2);
  }
  return new StoreError('IO', `${lead}: ${doing} failed: ${reason}`, { cause: e });
}
