/**
 * The content-addressed run store: `compute(kind, config, fn)` runs `fn` at most once per unit
 * across processes and machines sharing the folder, and returns the committed result ever after.
 *
 * Commit protocol (why nothing half-done is ever trusted):
 *  1. take the unit's lock (lock.ts); re-check the manifest, since another process may have just finished;
 *  2. delete any old manifest first (a corrupt unit becomes plainly unfinished), then old outputs;
 *  3. write config.json; run `fn`, whose outputs go to a private `.work-<token>/` folder and whose
 *     resume checkpoints go to `partial/` (checkpoints.ts);
 *  4. hash every output, move them into the unit folder, fsync, and write manifest.json atomically:
 *     that rename is the commit point; then delete the work folder and the checkpoints.
 * A crash anywhere before 4's rename leaves no manifest, so the unit is unfinished and the next
 * request resumes it; a crash after leaves a finished unit plus leftovers that gc removes.
 */
import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../io/atomic-write';
import { canonicalJson, unitIdentity, type Json, type UnitIdentity } from './canonical';
import { digestFile, type FileDigest } from './checksum';
import { CheckpointFolder } from './checkpoints';
import { PROGRESS_FILE } from './progress';
import { StoreError, describeError, errnoCode, ioError, type StoreEvent } from './errors';
import {
  CONFIG_FILE,
  LOCK_FILE,
  MANIFEST_FILE,
  MARKER_FILE,
  PARTIAL_DIR,
  STORE_FORMAT,
  WORK_PREFIX,
  defaultStoreRoot,
  ensureDir,
  listDir,
  listFilesRecursive,
  readJsonFile,
  removeTree,
  syncDir,
  unitDir,
} from './layout';
import {
  DEFAULT_LOCK_TIMING,
  HeldLock,
  describeOwner,
  removeLockLeftovers,
  waitUntilFree,
  type LockTiming,
} from './lock';
import {
  MANIFEST_FORMAT,
  describeProblem,
  manifestText,
  readManifest,
  sealManifest,
  verifyManifestFiles,
  type Manifest,
} from './manifest';
import { FinishedUnit, UnitWriter } from './unit';
import {
  gcStore,
  listUnits,
  showUnit,
  verifyStore,
  type GcOptions,
  type GcReport,
  type ListOptions,
  type UnitInfo,
  type VerifyReport,
} from './inventory';

/** How a store behaves; every field is optional. */
export interface StoreOptions extends Partial<LockTiming> {
  /** The store folder (default `$LMC_HOME/store`, i.e. `~/.lmc/store`). */
  root?: string;
  /** Receives corruption, recovery and waiting reports (default: warnings on stderr; waiting is silent). */
  onEvent?: (event: StoreEvent) => void;
  /** Reuse this process's checksum of an untouched file (default true; see checksum.ts). */
  hashCache?: boolean;
  /** Resume checkpoints kept per unit (default 2). */
  keepCheckpoints?: number;
}

/** What a computation returns: the unit's summary (small JSON), or nothing. */
export type Compute = (unit: UnitWriter) => Promise<Json | void>;

/** Opens the store at `root` (or `options.root`, or the default). Nothing is created until a unit is computed. */
export function openStore(options: string | StoreOptions = {}): Store {
  return new Store(typeof options === 'string' ? { root: options } : options);
}

/**
 * Prints every event, but a wait only once it has lasted
 * (short waits on a unit another thread computes are routine).
 */
function defaultOnEvent(event: StoreEvent): void {
  if (event.type !== 'waiting' || event.waitedSeconds > 0) console.warn(`lmc store: ${event.message}`);
}

/** A store folder; see openStore. */
export class Store {
  /** Absolute path of the store folder. */
  readonly root: string;
  /** Lock timing in effect. */
  readonly timing: LockTiming;
  private readonly report: (event: StoreEvent) => void;
  private readonly hashCache: boolean;
  /** Resume checkpoints kept per unit. */
  readonly keepCheckpoints: number;
  private readonly inflight = new Map<string, Promise<FinishedUnit>>();
  private markerChecked = false;
  private rootChecked = false;

  constructor(options: StoreOptions = {}) {
    this.root = path.resolve(options.root ?? defaultStoreRoot());
    const timing = { ...DEFAULT_LOCK_TIMING };
    for (const key of Object.keys(DEFAULT_LOCK_TIMING) as (keyof LockTiming)[]) {
      const value = options[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !(value > 0))
        throw new StoreError(
          'INVALID_CONFIG',
          `openStore: ${key} must be a positive number of milliseconds, got ${String(value)}`,
        );
      timing[key] = value;
    }
    if (timing.heartbeatMs * 2 > timing.staleMs)
      throw new StoreError(
        'INVALID_CONFIG',
        `openStore: heartbeatMs (${timing.heartbeatMs}) must be at most half of staleMs (${timing.staleMs}), ` +
          `or live locks would look stale`,
      );
    this.timing = timing;
    this.report = options.onEvent ?? defaultOnEvent;
    this.hashCache = options.hashCache ?? true;
    const keep = options.keepCheckpoints ?? 2;
    if (!Number.isSafeInteger(keep) || keep < 1)
      throw new StoreError('INVALID_CONFIG', `openStore: keepCheckpoints must be a positive integer, got ${keep}`);
    this.keepCheckpoints = keep;
  }

  /** The identity (canonical config and hash) of a unit, without touching the disk. */
  identify(kind: string, config: unknown): UnitIdentity {
    return unitIdentity(kind, config);
  }

  /** The folder a unit lives in (whether or not it exists). */
  dirOf(kind: string, config: unknown): string {
    const id = unitIdentity(kind, config);
    return unitDir(this.root, id.kind, id.hash);
  }

  /**
   * The finished unit, verified (sizes and checksums), or null if
   * it is absent, unfinished or corrupt (corruption is reported).
   */
  async get(kind: string, config: unknown): Promise<FinishedUnit | null> {
    return this.openFinished(unitIdentity(kind, config), true);
  }

  private async openFinished(id: UnitIdentity, report: boolean): Promise<FinishedUnit | null> {
    const dir = unitDir(this.root, id.kind, id.hash);
    const read = await readManifest(dir, id.kind, id.hash);
    if (read.state === 'missing') return null;
    const problems =
      read.state === 'invalid'
        ? [read.problem]
        : await verifyManifestFiles(dir, read.manifest, this.hashCache ? 'cached' : 'full');
    if (
      read.state === 'ok' &&
      problems.length === 0 &&
      canonicalJson(read.manifest.config) !== canonicalJson(id.config)
    ) {
      problems.push({ file: MANIFEST_FILE, problem: 'the manifest holds another config than the one hashed' });
    }
    if (problems.length === 0 && read.state === 'ok') return new FinishedUnit(dir, read.manifest, false);
    if (report) {
      for (const p of problems) {
        const message =
          `${describeProblem(dir, p)}; ` + `the ${id.kind} unit is treated as unfinished and will be recomputed`;
        this.report({
          type: 'corrupt',
          kind: id.kind,
          hash: id.hash,
          file: p.file,
          problem: p.problem,
          expected: p.expected,
          actual: p.actual,
          message,
        });
      }
    }
    return null;
  }

  /**
   * Returns the finished unit, computing it first if needed: at most one process computes a unit at a
   * time; others wait for it and read its result. `fn` writes outputs through the UnitWriter, may
   * resume from `unit.latestCheckpoint()`, and returns the summary. Throws StoreError('COMPUTE_FAILED')
   * when `fn` throws (nothing is committed; checkpoints are kept for the next attempt).
   */
  /** Reports `event` as this store's own (what worker threads' stores on the same folder report). */
  relay(event: StoreEvent): void {
    this.report(event);
  }

  async compute(kind: string, config: unknown, fn: Compute): Promise<FinishedUnit> {
    const id = unitIdentity(kind, config);
    if (typeof fn !== 'function')
      throw new StoreError(
        'INVALID_CONFIG',
        `compute(${kind}): the third argument must be an async function (unit) => summary`,
      );
    const key = `${id.kind}/${id.hash}`;
    const running = this.inflight.get(key);
    // Two requests in one process share one computation instead of queueing on our own lock.
    if (running) return running.then((u) => new FinishedUnit(u.dir, u.manifest, false));
    const promise = this.computeOnce(id, fn).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private async computeOnce(id: UnitIdentity, fn: Compute): Promise<FinishedUnit> {
    await this.checkWritable();
    const dir = unitDir(this.root, id.kind, id.hash);
    const lockFile = path.join(dir, LOCK_FILE);
    let report = true;
    for (;;) {
      const done = await this.openFinished(id, report);
      report = false;
      if (done) return done;
      await this.ensureMarker();
      const lock = await HeldLock.tryAcquire(lockFile, `compute ${id.kind}/${id.hash}`);
      if (!lock) {
        await waitUntilFree(lockFile, this.timing, {
          waiting: (owner, waitedMs) => {
            const waitedSeconds = Math.round(waitedMs / 1000);
            const waited = waitedSeconds > 0 ? `still waiting after ${waitedSeconds} s` : 'waiting';
            this.report({
              type: 'waiting',
              kind: id.kind,
              hash: id.hash,
              owner: describeOwner(owner),
              waitedSeconds,
              message:
                `${dir}: ${waited} for ${describeOwner(owner)}, which is computing this ${id.kind} unit ` +
                `(lock file ${lockFile})`,
            });
          },
          recovered: (owner, reason) =>
            this.report({
              type: 'lock-recovered',
              lock: lockFile,
              owner: describeOwner(owner),
              reason,
              message: `${lockFile}: removed a stale lock held by ${describeOwner(owner)}: ${reason}`,
            }),
        });
        continue;
      }
      try {
        const finished = await this.openFinished(id, false);
        if (finished) return finished;
        return await this.runLocked(id, dir, lock, fn);
      } finally {
        await lock.release();
      }
    }
  }

  private async runLocked(id: UnitIdentity, dir: string, lock: HeldLock, fn: Compute): Promise<FinishedUnit> {
    const started = new Date();
    lock.startHeartbeat(this.timing.heartbeatMs);
    await this.prepare(id, dir);
    const workDir = path.join(dir, `${WORK_PREFIX}${randomBytes(6).toString('hex')}`);
    await ensureDir(workDir);
    const checkpoints = new CheckpointFolder(path.join(dir, PARTIAL_DIR), this.keepCheckpoints, (step, file, problem) =>
      this.report({
        type: 'checkpoint-corrupt',
        kind: id.kind,
        hash: id.hash,
        step,
        file,
        problem,
        message:
          `${file}: resume checkpoint at step ${step} is damaged (${problem}); ` +
          `discarded, resuming from an older one or from the start`,
      }),
    );
    const writer = new UnitWriter(id, dir, workDir, checkpoints, lock.signal);
    try {
      let summary: Json;
      try {
        summary = (await fn(writer)) ?? null;
      } catch (e) {
        throw new StoreError(
          'COMPUTE_FAILED',
          `${dir}: computing the ${id.kind} unit failed: ${describeError(e)}. Nothing was committed; ` +
            `the unit stays unfinished and resumes from its last checkpoint on the next request`,
          { cause: e },
        );
      } finally {
        writer.close();
      }
      try {
        canonicalJson(summary, 'summary');
      } catch (e) {
        throw new StoreError(
          'INVALID_SUMMARY',
          `${dir}: the ${id.kind} computation returned a summary that is not plain JSON: ${(e as Error).message}`,
        );
      }
      const manifest = await this.commit(id, dir, workDir, summary, started, lock);
      return new FinishedUnit(dir, manifest, true);
    } finally {
      await removeTree(workDir).catch(() => undefined);
    }
  }

  /** Under the lock: drop what an earlier attempt left (old manifest first), write config.json. */
  private async prepare(id: UnitIdentity, dir: string): Promise<void> {
    try {
      await fsp.rm(path.join(dir, MANIFEST_FILE), { force: true });
      await removeLockLeftovers(dir, LOCK_FILE);
      for (const name of await listDir(dir)) {
        if (name === CONFIG_FILE || name === PARTIAL_DIR || name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`))
          continue;
        await removeTree(path.join(dir, name));
      }
      const config = await readJsonFile(path.join(dir, CONFIG_FILE));
      const text = `${id.canonical}\n`;
      if (config.state !== 'ok' || config.text !== text)
        await writeFileAtomic(path.join(dir, CONFIG_FILE), Buffer.from(text));
    } catch (e) {
      throw ioError(dir, `preparing the ${id.kind} unit`, e);
    }
  }

  private async commit(
    id: UnitIdentity,
    dir: string,
    workDir: string,
    summary: Json,
    started: Date,
    lock: HeldLock,
  ): Promise<Manifest> {
    const lost = () =>
      new StoreError(
        'LOCK_LOST',
        `${dir}: this process lost the unit's lock to another (it was judged stale, e.g. ` +
          `the event loop was blocked for longer than staleMs = ${this.timing.staleMs} ms); ` +
          `not committing. Raise staleMs if computations block that long`,
      );
    if (!(await lock.stillHeld())) throw lost();
    try {
      const files: Record<string, FileDigest> = {};
      const outputs = await listFilesRecursive(workDir);
      for (const name of outputs) files[name] = await digestFile(path.join(workDir, ...name.split('/')), false);
      files[CONFIG_FILE] = await digestFile(path.join(dir, CONFIG_FILE), false);
      const folders = new Set<string>([dir]);
      for (const name of outputs) {
        const target = path.join(dir, ...name.split('/'));
        await ensureDir(path.dirname(target));
        folders.add(path.dirname(target));
        await fsp.rename(path.join(workDir, ...name.split('/')), target);
      }
      for (const folder of folders) await syncDir(folder);
      const finished = new Date();
      const manifest: Manifest = sealManifest({
        format: MANIFEST_FORMAT,
        kind: id.kind,
        hash: id.hash,
        config: id.config,
        summary,
        files,
        started: started.toISOString(),
        finished: finished.toISOString(),
        seconds: (finished.getTime() - started.getTime()) / 1000,
        host: os.hostname(),
        pid: process.pid,
      });
      if (!(await lock.stillHeld())) throw lost();
      await writeFileAtomic(path.join(dir, MANIFEST_FILE), Buffer.from(manifestText(manifest)));
      // Committed. Cleanup failures are harmless (gc finds the leftovers), so they are not errors.
      await removeTree(path.join(dir, PARTIAL_DIR)).catch(() => undefined);
      await fsp.rm(path.join(dir, PROGRESS_FILE), { force: true }).catch(() => undefined);
      return manifest;
    } catch (e) {
      if (e instanceof StoreError && e.code === 'LOCK_LOST') throw e;
      throw new StoreError(
        'COMPUTE_FAILED',
        `${dir}: committing the ${id.kind} unit failed: ${describeError(e)}. The unit stays unfinished; ` +
          `its checkpoints are kept`,
        { cause: e },
      );
    }
  }

  /**
   * Before anything is read or computed, once: the store folder can be made and written (no file
   * on its path, no read-only file system, permission to write), else an error saying which.
   */
  private async checkWritable(): Promise<void> {
    if (this.rootChecked) return;
    const problem = await storeRootProblem(this.root);
    if (problem) throw new StoreError('IO', problem);
    this.rootChecked = true;
  }

  /** Writes lmc-store.json at the root once, so gc can tell a store from a mistyped LMC_HOME. */
  private async ensureMarker(): Promise<void> {
    if (this.markerChecked) return;
    const file = path.join(this.root, MARKER_FILE);
    const read = await readJsonFile(file);
    if (read.state === 'ok' && (read.value as { format?: string })?.format !== STORE_FORMAT) {
      throw new StoreError(
        'NOT_A_STORE',
        `${file}: store format ${JSON.stringify((read.value as { format?: string })?.format)} is not ` +
          `"${STORE_FORMAT}"; use a newer lmc-lab or another LMC_HOME`,
      );
    }
    if (read.state !== 'ok') {
      await ensureDir(this.root);
      await writeFileAtomic(
        file,
        Buffer.from(`${JSON.stringify({ format: STORE_FORMAT, created: new Date().toISOString() }, null, 2)}\n`),
      ).catch((e) => {
        throw ioError(file, 'creating the store marker', e);
      });
    }
    this.markerChecked = true;
  }

  /** Every unit in the store with its state (finished, running, unfinished, corrupt), size and time. */
  async list(options: ListOptions = {}): Promise<UnitInfo[]> {
    return listUnits(this.root, this.timing, options);
  }

  /** One unit, by full hash or a unique prefix (optionally "kind/prefix"), fully verified. */
  async show(ref: string): Promise<UnitInfo> {
    return showUnit(this.root, this.timing, ref);
  }

  /** Removes unfinished units not locked by a live process, attempt leftovers and temp files; never a finished unit. */
  async gc(options: GcOptions = {}): Promise<GcReport> {
    return gcStore(this.root, this.timing, options);
  }

  /** Hashes every file of every finished unit; reports corrupt ones (and deletes nothing). */
  async verify(): Promise<VerifyReport> {
    return verifyStore(this.root, this.timing);
  }
}

/**
 * Why units cannot be written under `root`, judged at the
 * nearest folder that exists on its path; null when they can.
 */
export async function storeRootProblem(root: string): Promise<string | null> {
  const fix = 'point LMC_HOME (or --store) at a folder you can write';
  let at = path.resolve(root);
  for (;;) {
    let stat;
    try {
      stat = await fsp.stat(at);
    } catch (e) {
      const code = errnoCode(e);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && path.dirname(at) !== at) {
        at = path.dirname(at);
        continue;
      }
      return `the store ${root} cannot be reached: ${at}: ${describeError(e)}; ${fix}`;
    }
    if (!stat.isDirectory()) return `the store ${root} cannot be made: ${at} is a file, not a folder; ${fix}`;
    try {
      await fsp.access(at, fsConstants.W_OK);
      return null;
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EROFS') return `the store ${root} cannot be written: ${at} is on a read-only file system; ${fix}`;
      return `the store ${root} cannot be written: no permission to write in ${at} (${code}); ${fix}`;
    }
  }
}
