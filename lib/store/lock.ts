/**
 * Unit locks that work on a network file system shared by several machines.
 *
 * Acquire = exclusive creation of the lock file: the owner record (pid, host identity, start time,
 * random token) is written to a private file and hard-linked to the lock name, which fails if the lock
 * exists (atomic on NFS, and the lock is never seen half-written); where hard links are unsupported,
 * open(..., 'wx') (O_CREAT|O_EXCL, atomic on NFSv3+). Never advisory locks (flock, fcntl): many NFS
 * setups silently ignore them.
 *
 * Liveness: the owner touches the file's mtime every `heartbeatMs`. A lock is stale when
 *  - its owner is on this host (same hostname and boot id) and its pid is not running, or carries
 *    our own pid but a token this process never issued (an earlier process with a recycled pid); or
 *  - its heartbeat has not moved for `staleMs`, measured on the waiter's own clock from the moment it
 *    first saw that heartbeat (so clock skew between machines does not matter), or its mtime is older
 *    than 2 x staleMs by the local clock (so a lock left hours ago is not waited on for staleMs again).
 *
 * Recovery renames the lock aside, then checks that what it moved is the very lock it judged stale
 * (same inode, token and heartbeat); only then is it deleted. If two waiters race, the loser may move
 * a fresh lock that the winner just created: it sees the mismatch and links it back. The one window
 * left (a third process creating a lock in between) makes the displaced owner notice at its next
 * heartbeat or at commit, where the token is checked again, and fail rather than commit.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { StoreError, errnoCode, ioError } from './errors';

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  format: string;
  pid: number;
  host: string;
  /** hostname + kernel boot id: a pid is only meaningful on the same host in the same boot. */
  hostId: string;
  started: string;
  token: string;
  /** The owning process's identity, shared by its worker threads (absent in locks of older versions). */
  process?: string;
  /** What the owner is doing, for people reading the file ("compute train/3fa4..."). */
  purpose: string;
}

/** Timing of locks; the defaults suit long training runs on a cluster. */
export interface LockTiming {
  /** A heartbeat older than this marks a lock stale (default 10 minutes). */
  staleMs: number;
  /** How often the owner refreshes its heartbeat (default 15 s). */
  heartbeatMs: number;
  /** First poll delay while waiting for another process (default 50 ms), growing by 1.5x. */
  pollMs: number;
  /** Longest poll delay (default 2 s). */
  maxPollMs: number;
  /** Give up waiting after this long (default: never). */
  waitTimeoutMs: number;
  /** While waiting, say again who holds the lock every this long (default 30 s). */
  waitReportMs?: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = {
  staleMs: 10 * 60_000,
  heartbeatMs: 15_000,
  pollMs: 50,
  maxPollMs: 2_000,
  waitTimeoutMs: Infinity,
  waitReportMs: 30_000,
};

const LOCK_FORMAT = 'lmc-lab lock 1';
const EMPTY_LOCK_GRACE_MS = 10_000;

function readBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'no-boot-id';
  }
}

/** This machine's identity in lock files. */
export const HOST_ID = `${os.hostname()}/${readBootId()}`;

/** A short hex digest of HOST_ID: names of owner records carry it, with the pid, before their content is written. */
const HOST_TAG = createHash('sha256').update(HOST_ID).digest('hex').slice(0, 12);

/** Tokens of the locks this thread holds, so a lock with our pid but a foreign token is known stale. */
const heldTokens = new Set<string>();

/**
 * This process's identity in lock files: its pid and a random part, set by the main thread and
 * inherited by worker threads (through their copy of the environment), which load this module
 * anew and so hold their own `heldTokens`. A lock with our pid and our process identity but a
 * token this thread never issued belongs to another thread of this live process, not to an
 * earlier process that had the same pid.
 */
export const PROCESS_ID = processIdentity();

function processIdentity(): string {
  const inherited = process.env.LMC_LOCK_PROCESS;
  if (!isMainThread && inherited !== undefined && inherited.startsWith(`${process.pid}:`)) return inherited;
  const id = `${process.pid}:${randomBytes(8).toString('hex')}`;
  if (isMainThread) process.env.LMC_LOCK_PROCESS = id;
  return id;
}

/** True when a process with this pid exists on this host (EPERM means it exists but is not ours). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** What is on disk at a lock path. */
export type LockState = { state: 'free' } | { state: 'held'; owner: LockOwner | null; mtimeMs: number; ino: number };

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as LockOwner;
    // pid 0 or negative would signal a process group in isPidAlive; such a file is garbage.
    if (o && Number.isSafeInteger(o.pid) && o.pid > 0 && typeof o.token === 'string' && typeof o.hostId === 'string')
      return o;
  } catch {
    // An empty or half-written file: its creator died between create and write, or is writing now.
  }
  return null;
}

/** Reads a lock file's owner and heartbeat. */
export async function inspectLock(file: string): Promise<LockState> {
  try {
    const stat = await fsp.stat(file);
    const text = await fsp.readFile(file, 'utf8');
    return { state: 'held', owner: parseOwner(text), mtimeMs: stat.mtimeMs, ino: stat.ino };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { state: 'free' };
    throw ioError(file, 'reading the lock', e);
  }
}

/** A short description of a lock owner for messages. */
export function describeOwner(owner: LockOwner | null): string {
  if (!owner) return 'an unknown process (the lock file is empty or damaged)';
  return `process ${owner.pid} on ${owner.host} (since ${owner.started})`;
}

/**
 * Why a held lock is stale, or null while its owner looks alive.
 * `firstSeen`: when this waiter first saw this heartbeat.
 */
export function staleReason(
  lock: Extract<LockState, { state: 'held' }>,
  firstSeen: number,
  timing: LockTiming,
  now = Date.now(),
): string | null {
  const { owner } = lock;
  if (owner && owner.hostId === HOST_ID) {
    if (owner.pid === process.pid) {
      // Another thread's lock is live while it heartbeats (the rule below).
      if (!heldTokens.has(owner.token) && owner.process !== PROCESS_ID)
        return `it carries this process's pid ${owner.pid} but was left by an earlier process`;
    } else if (!isPidAlive(owner.pid)) {
      return `its owner, process ${owner.pid} on this host, is no longer running`;
    }
  }
  // A lock without a readable owner can only come from the 'wx' fallback, whose creator writes the
  // owner right after creating the file: if nothing appears within a short grace, its creator died.
  const limit = owner ? timing.staleMs : Math.min(timing.staleMs, EMPTY_LOCK_GRACE_MS);
  const unchanged = Math.max(now - firstSeen, now - lock.mtimeMs - limit);
  if (unchanged >= limit)
    return (
      `its heartbeat has not been refreshed for ${Math.round(unchanged / 1000)} s ` +
      `(stale after ${Math.round(limit / 1000)} s)`
    );
  return null;
}

/**
 * Removes the lock at `file` only if it is still the one described by `expected` (inode, token,
 * heartbeat): rename aside, compare, delete or put back. Returns what happened.
 */
export async function removeLockIf(
  file: string,
  expected: { ino: number; mtimeMs: number; token: string | undefined },
): Promise<'removed' | 'gone' | 'changed'> {
  const aside = `${file}.${randomBytes(6).toString('hex')}.aside`;
  try {
    await fsp.rename(file, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return 'gone';
    throw ioError(file, 'moving a stale lock aside', e);
  }
  let same = false;
  try {
    const stat = await fsp.stat(aside);
    const owner = parseOwner(await fsp.readFile(aside, 'utf8'));
    same = stat.ino === expected.ino && stat.mtimeMs === expected.mtimeMs && owner?.token === expected.token;
  } catch {
    same = false;
  }
  if (!same) {
    // We moved a lock that changed since we judged it: give it back unless someone created a new one.
    await fsp.link(aside, file).catch(async (e) => {
      if (errnoCode(e) !== 'EEXIST') await fsp.rename(aside, file).catch(() => undefined);
    });
  }
  await fsp.rm(aside, { force: true });
  return same ? 'removed' : 'changed';
}

/** A lock this process holds; `signal` aborts when the lock turns out to have been taken over. */
export class HeldLock {
  readonly owner: LockOwner;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    readonly file: string,
    owner: LockOwner,
  ) {
    this.owner = owner;
  }

  /** Aborted when another process took the lock over (this one was judged stale). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Creates the lock file exclusively; null when another process holds it. The owner record is
   * written to a private file first and hard-linked into place (link(2) fails if the lock exists),
   * so a lock is never seen empty, and this is the creation recipe open(2) recommends for NFS. Where
   * hard links are unsupported, exclusive creation with open(..., 'wx') is used instead.
   */
  static async tryAcquire(file: string, purpose: string, attempt = 0): Promise<HeldLock | null> {
    const owner: LockOwner = {
      format: LOCK_FORMAT,
      pid: process.pid,
      host: os.hostname(),
      hostId: HOST_ID,
      started: new Date().toISOString(),
      token: randomBytes(12).toString('hex'),
      process: PROCESS_ID,
      purpose,
    };
    const text = `${JSON.stringify(owner, null, 2)}\n`;
    // The name says whose record this is, so a record left empty by a kill between open and write can be judged too.
    const temp = `${file}.${HOST_TAG}-${process.pid}-${owner.token}.new`;
    heldTokens.add(owner.token);
    let acquired = false;
    try {
      await writeNewFile(temp, text, true);
      try {
        await fsp.link(temp, file);
        acquired = true;
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT') {
          // Our record vanished (a gc judged it a leftover) or the folder went: start over.
          heldTokens.delete(owner.token);
          return attempt < 3 ? HeldLock.tryAcquire(file, purpose, attempt + 1) : null;
        }
        if (code === 'EEXIST') {
          // NFS: a retried link whose first reply was lost says EEXIST although it worked; the link count tells.
          acquired = (await fsp.stat(temp)).nlink === 2;
        } else if (
          code === 'EPERM' ||
          code === 'ENOTSUP' ||
          code === 'EOPNOTSUPP' ||
          code === 'ENOSYS' ||
          code === 'EMLINK'
        ) {
          acquired = await writeNewFile(file, text, false).then(
            () => true,
            (w) => {
              if (errnoCode(w) === 'EEXIST') return false;
              throw w;
            },
          );
        } else {
          throw e;
        }
      }
    } catch (e) {
      heldTokens.delete(owner.token);
      throw ioError(file, 'creating the lock', e);
    } finally {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
    if (!acquired) {
      heldTokens.delete(owner.token);
      return null;
    }
    return new HeldLock(file, owner);
  }

  /** Refreshes the heartbeat every `ms` until released; marks the lock lost if it was taken over. */
  startHeartbeat(ms: number): void {
    this.timer = setInterval(() => void this.beat(), ms);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.released || this.controller.signal.aborted) return;
    if (!(await this.stillHeld())) {
      this.controller.abort(
        new StoreError(
          'LOCK_LOST',
          `${this.file}: another process took this lock over (it judged this one stale); this process must not commit`,
        ),
      );
      return;
    }
    const now = new Date();
    await fsp.utimes(this.file, now, now).catch(() => undefined);
  }

  /** True when the lock file still carries this lock's token (rechecked once, past a racing recoverer's put-back). */
  async stillHeld(): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const state = await inspectLock(this.file).catch(() => null);
      if (state?.state === 'held' && state.owner?.token === this.owner.token) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Stops the heartbeat and deletes the lock file if it is still this lock. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    heldTokens.delete(this.owner.token);
    const state = await inspectLock(this.file).catch(() => null);
    if (state?.state === 'held' && state.owner?.token === this.owner.token) {
      await removeLockIf(this.file, { ino: state.ino, mtimeMs: state.mtimeMs, token: this.owner.token }).catch(
        () => undefined,
      );
    }
  }
}

/**
 * Creates `file` exclusively with `text`, durably; `makeDir`
 * creates a missing unit folder. Removes it if writing fails.
 */
async function writeNewFile(file: string, text: string, makeDir: boolean): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'wx');
  } catch (e) {
    if (!makeDir || errnoCode(e) !== 'ENOENT') throw e;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    handle = await fsp.open(file, 'wx');
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fsp.rm(file, { force: true }).catch(() => undefined);
    throw e;
  }
  await handle.close();
}

/**
 * Removes what interrupted lock operations leave beside a lock: '.lock.<host tag>-<pid>-<token>.new'
 * (an owner record not yet linked; empty when its process was killed between open and write) and
 * '.lock.<random>.aside' (a stale lock being recovered). One is removed when the process named inside
 * it or in its name is on this host and dead, or when it is older than a minute (no operation takes
 * that long); a live process's file is left to it. Returns the paths removed.
 */
export async function removeLockLeftovers(dir: string, lockName: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(`${lockName}.`) || !(name.endsWith('.new') || name.endsWith('.aside'))) continue;
    const file = path.join(dir, name);
    try {
      const stat = await fsp.stat(file);
      const owner = parseOwner(await fsp.readFile(file, 'utf8'));
      const named = /\.([0-9a-f]{12})-(\d+)-[0-9a-f]+\.new$/.exec(name);
      const pid = owner?.hostId === HOST_ID ? owner.pid : named?.[1] === HOST_TAG ? Number(named[2]) : null;
      const dead = pid !== null && pid !== process.pid && !isPidAlive(pid);
      if (dead || Date.now() - stat.mtimeMs > 60_000) {
        await fsp.rm(file, { force: true });
        removed.push(file);
      }
    } catch {
      // Gone meanwhile: its process finished with it.
    }
  }
  return removed;
}

/** Callbacks while waiting: when the wait starts and every waitReportMs after, and on every stale lock removed. */
export interface WaitReports {
  /** `waitedMs`: 0 when the wait starts. */
  waiting(owner: LockOwner | null, waitedMs: number): void;
  recovered(owner: LockOwner | null, reason: string): void;
}

/** Waits (polling with growing, jittered delays) until `file` is absent, removing it if it goes stale. */
export async function waitUntilFree(file: string, timing: LockTiming, reports: WaitReports): Promise<void> {
  const started = Date.now();
  let delay = timing.pollMs;
  let seen: { signature: string; since: number } | undefined;
  const reportEvery = timing.waitReportMs ?? DEFAULT_LOCK_TIMING.waitReportMs!;
  let told: number | null = null;
  for (;;) {
    const lock = await inspectLock(file);
    if (lock.state === 'free') return;
    const signature = `${lock.ino}:${lock.mtimeMs}:${lock.owner?.token}`;
    if (seen?.signature !== signature) seen = { signature, since: Date.now() };
    const reason = staleReason(lock, seen.since, timing);
    if (reason !== null) {
      const outcome = await removeLockIf(file, { ino: lock.ino, mtimeMs: lock.mtimeMs, token: lock.owner?.token });
      if (outcome === 'removed') reports.recovered(lock.owner, reason);
      continue;
    }
    if (told === null || Date.now() - told >= reportEvery) {
      reports.waiting(lock.owner, told === null ? 0 : Date.now() - started);
      told = Date.now();
    }
    if (Date.now() - started > timing.waitTimeoutMs) {
      throw new StoreError(
        'LOCK_TIMEOUT',
        `${file}: still held by ${describeOwner(lock.owner)} after waiting ` +
          `${Math.round((Date.now() - started) / 1000)} s; if that process is gone, delete the lock file or run gc`,
      );
    }
    await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
    delay = Math.min(delay * 1.5, timing.maxPollMs);
  }
}
