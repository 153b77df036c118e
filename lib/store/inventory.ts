/**
 * Looking at a store as a whole: list, show, verify and gc. These read the folder layout only; they
 * never need to know what a unit computes.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isUnitHash, type Json } from './canonical';
import { StoreError } from './errors';
import {
  CONFIG_FILE,
  LOCK_FILE,
  MARKER_FILE,
  PARTIAL_DIR,
  WORK_PREFIX,
  listDir,
  readJsonFile,
  removeTree,
  treeStats,
} from './layout';
import {
  HeldLock,
  describeOwner,
  inspectLock,
  removeLockIf,
  removeLockLeftovers,
  staleReason,
  type LockTiming,
} from './lock';
import { PROGRESS_FILE, progressEtaSeconds, readProgress, type UnitProgress } from './progress';
import {
  describeProblem,
  readManifest,
  verifyManifestFiles,
  type FileProblem,
  type Manifest,
  type VerifyMode,
} from './manifest';

/**
 * A unit's state: committed and intact, being computed now,
 * interrupted or never finished, or committed but damaged.
 */
export type UnitState = 'finished' | 'running' | 'unfinished' | 'corrupt';

/** What list and show report about a unit. */
export interface UnitInfo {
  kind: string;
  hash: string;
  dir: string;
  state: UnitState;
  /** The config from config.json (null if that file is missing or damaged). */
  config: Json | null;
  /** The summary of a finished (or corrupt) unit. */
  summary: Json | null;
  /** Why a unit is corrupt, one line per file. */
  problems: string[];
  /** Bytes on disk, everything in the folder included. */
  bytes: number;
  /** Latest modification under the folder. */
  modified: Date;
  /** Newest resume checkpoint step present (not verified here), for unfinished units. */
  checkpointStep: number | null;
  /** Who computes it, for a running unit. */
  owner: string | null;
  /** How far a running unit has come, or where an unfinished one stopped (its last progress record). */
  progress: UnitProgress | null;
  manifest: Manifest | null;
}

/** How thoroughly `list` checks finished units: 'sizes' (fast, the default) or 'checksums' (hashes every file). */
export interface ListOptions {
  verify?: 'sizes' | 'checksums';
  /** Only units of this kind. */
  kind?: string;
}

async function unitFolders(root: string, kind?: string): Promise<{ kind: string; hash: string; dir: string }[]> {
  const out: { kind: string; hash: string; dir: string }[] = [];
  for (const k of (await listDir(root)).sort()) {
    if (kind !== undefined && k !== kind) continue;
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(k)) continue;
    for (const hash of (await listDir(path.join(root, k))).sort()) {
      if (isUnitHash(hash)) out.push({ kind: k, hash, dir: path.join(root, k, hash) });
    }
  }
  return out;
}

async function liveOwner(dir: string, timing: LockTiming): Promise<string | null> {
  const lock = await inspectLock(path.join(dir, LOCK_FILE)).catch(() => null);
  if (!lock || lock.state === 'free') return null;
  // A lock we see for the first time is judged by pid liveness and absolute age only.
  return staleReason(lock, Date.now(), timing) === null ? describeOwner(lock.owner) : null;
}

/** Describes a unit; `lockedByUs` (gc) keeps our own lock from making it look 'running'. */
async function describeUnit(
  unit: { kind: string; hash: string; dir: string },
  timing: LockTiming,
  verify: VerifyMode,
  lockedByUs = false,
): Promise<UnitInfo> {
  const { kind, hash, dir } = unit;
  const config = await readJsonFile(path.join(dir, CONFIG_FILE));
  const read = await readManifest(dir, kind, hash);
  let problems: FileProblem[] = [];
  let manifest: Manifest | null = null;
  if (read.state === 'invalid') problems = [read.problem];
  if (read.state === 'ok') {
    manifest = read.manifest;
    problems = await verifyManifestFiles(dir, manifest, verify);
  }
  const steps = (await listDir(path.join(dir, PARTIAL_DIR))).filter((n) => /^\d{12}$/.test(n)).map(Number);
  const owner = read.state === 'ok' || lockedByUs ? null : await liveOwner(dir, timing);
  const state: UnitState =
    read.state === 'missing' ? (owner ? 'running' : 'unfinished') : problems.length > 0 ? 'corrupt' : 'finished';
  const { bytes, modified } = await treeStats(dir);
  return {
    kind,
    hash,
    dir,
    state,
    config: config.state === 'ok' ? ((config.value as { config?: Json }).config ?? null) : null,
    summary: manifest?.summary ?? null,
    problems: problems.map((p) => describeProblem(dir, p)),
    bytes,
    modified,
    checkpointStep: state === 'finished' || steps.length === 0 ? null : Math.max(...steps),
    owner: state === 'running' ? owner : null,
    progress: state === 'running' || state === 'unfinished' ? await readProgress(dir) : null,
    manifest,
  };
}

/** Seconds left for a running unit that reports progress (store/progress.ts), else null. */
export function unitEtaSeconds(u: Pick<UnitInfo, 'state' | 'progress'>): number | null {
  return u.state === 'running' && u.progress ? progressEtaSeconds(u.progress) : null;
}

/** Lists every unit, sorted by kind then hash. */
export async function listUnits(root: string, timing: LockTiming, options: ListOptions = {}): Promise<UnitInfo[]> {
  const out: UnitInfo[] = [];
  // 'sizes' still reads every file's stat; 'checksums' hashes, reusing this process's cache.
  const mode = options.verify === 'checksums' ? 'cached' : 'sizes';
  for (const unit of await unitFolders(root, options.kind)) out.push(await describeUnit(unit, timing, mode));
  return out;
}

/** Finds one unit by hash prefix ("3fa4", or "train/3fa4") and verifies it in full. */
export async function showUnit(root: string, timing: LockTiming, ref: string): Promise<UnitInfo> {
  const match = /^(?:([a-z][a-z0-9_-]{0,63})\/)?([0-9a-f]{1,64})$/.exec(String(ref).trim().toLowerCase());
  if (!match)
    throw new StoreError(
      'NOT_FOUND',
      `${root}: ${JSON.stringify(ref)} is not a unit hash; give the hash or a unique prefix of it (hex digits, ` +
        `as \`lmc ls\` prints), optionally as kind/prefix`,
    );
  const [, kind, prefix] = match;
  const candidates = (await unitFolders(root, kind)).filter((u) => u.hash.startsWith(prefix));
  if (candidates.length === 0)
    throw new StoreError(
      'NOT_FOUND',
      `${root}: no unit${kind ? ` of kind "${kind}"` : ''} has a hash starting with "${prefix}"; ` +
        `\`lmc ls\` lists the units`,
    );
  if (candidates.length > 1) {
    const names = candidates
      .slice(0, 10)
      .map((u) => `${u.kind}/${u.hash.slice(0, 16)}`)
      .join(', ');
    throw new StoreError(
      'AMBIGUOUS',
      `${root}: ${candidates.length} units have hashes starting with "${prefix}" ` +
        `(${names}${candidates.length > 10 ? ', ...' : ''}); give more digits`,
    );
  }
  return describeUnit(candidates[0], timing, 'full');
}

/** Result of verify: how many units were checked and which are damaged. */
export interface VerifyReport {
  finished: number;
  corrupt: UnitInfo[];
  unfinished: number;
}

/** Hashes every file of every committed unit (no cache). */
export async function verifyStore(root: string, timing: LockTiming): Promise<VerifyReport> {
  const report: VerifyReport = { finished: 0, corrupt: [], unfinished: 0 };
  for (const unit of await unitFolders(root)) {
    const info = await describeUnit(unit, timing, 'full');
    if (info.state === 'finished') report.finished++;
    else if (info.state === 'corrupt') report.corrupt.push(info);
    else report.unfinished++;
  }
  return report;
}

/** gc options. */
export interface GcOptions {
  /** Only report what would be removed. */
  dryRun?: boolean;
  /** Also remove corrupt units (by default they are kept for inspection; a request recomputes them anyway). */
  corrupt?: boolean;
  /** Keep unfinished units that have a resume checkpoint (only their attempt leftovers go). */
  keepResumable?: boolean;
}

/** What gc removed (or would remove) and what it left alone. */
export interface GcReport {
  removed: { path: string; reason: string; bytes: number }[];
  kept: { path: string; reason: string }[];
  bytes: number;
}

/** The lock and its companions, which only lock.ts may remove: another process may be mid-acquire. */
function isLockName(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`${LOCK_FILE}.`);
}

/** Removes unfinished units, attempt leftovers and temp files, each under the unit's lock. */
export async function gcStore(root: string, timing: LockTiming, options: GcOptions = {}): Promise<GcReport> {
  const report: GcReport = { removed: [], kept: [], bytes: 0 };
  const rootNames = await listDir(root);
  if (rootNames.length === 0) return report;
  if (!rootNames.includes(MARKER_FILE)) {
    throw new StoreError(
      'NOT_A_STORE',
      `${root}: no ${MARKER_FILE} here, so this is not an lmc-lab store (is LMC_HOME right?); ` +
        `gc deletes nothing outside a store`,
    );
  }
  const remove = async (target: string, reason: string): Promise<void> => {
    const { bytes } = await treeStats(target);
    report.removed.push({ path: target, reason, bytes });
    report.bytes += bytes;
    if (!options.dryRun) await removeTree(target);
  };
  for (const unit of await unitFolders(root)) {
    const lockFile = path.join(unit.dir, LOCK_FILE);
    const lock = options.dryRun ? null : await acquireForGc(lockFile, timing);
    if (!options.dryRun && !lock) {
      report.kept.push({
        path: unit.dir,
        reason: `locked by ${(await liveOwner(unit.dir, timing)) ?? 'a live process'}`,
      });
      continue;
    }
    try {
      const info = await describeUnit(unit, timing, 'cached', lock !== null);
      if (options.dryRun && info.state === 'running') {
        report.kept.push({ path: unit.dir, reason: `locked by ${info.owner}` });
        continue;
      }
      const resumable = info.state === 'unfinished' && info.checkpointStep !== null && options.keepResumable;
      if (info.state === 'unfinished' && !resumable) {
        for (const name of await listDir(unit.dir))
          if (!isLockName(name)) await remove(path.join(unit.dir, name), 'unfinished unit');
        continue;
      }
      if (info.state === 'corrupt' && options.corrupt) {
        for (const name of await listDir(unit.dir))
          if (!isLockName(name)) await remove(path.join(unit.dir, name), `corrupt unit (${info.problems[0]})`);
        continue;
      }
      if (info.state === 'corrupt')
        report.kept.push({
          path: unit.dir,
          reason: `corrupt, kept for inspection (gc --corrupt removes it): ${info.problems[0]}`,
        });
      if (resumable)
        report.kept.push({ path: unit.dir, reason: `unfinished, resumable from step ${info.checkpointStep}` });
      for (const name of await listDir(unit.dir)) {
        const leftover = name.startsWith(WORK_PREFIX)
          ? 'work folder of an interrupted attempt'
          : name.endsWith('.tmp') && name.startsWith('.')
            ? 'temp file of an interrupted write'
            : name === PARTIAL_DIR && info.state !== 'unfinished'
              ? 'checkpoints of a committed unit'
              : name === PROGRESS_FILE && info.state === 'finished'
                ? 'progress record of a committed unit'
                : null;
        if (leftover) await remove(path.join(unit.dir, name), leftover);
      }
      if (!options.dryRun) {
        for (const file of await removeLockLeftovers(unit.dir, LOCK_FILE))
          report.removed.push({ path: file, reason: 'file of an interrupted lock operation', bytes: 0 });
      }
      await removeHiddenTemps(unit.dir, remove);
    } finally {
      await lock?.release();
      // An emptied unit folder goes too; rmdir fails harmlessly if anything (a new lock) appeared.
      if (!options.dryRun) await fsp.rmdir(unit.dir).catch(() => undefined);
    }
  }
  return report;
}

/** Temp files (".name.pid.random.tmp") of writes interrupted inside output subfolders or checkpoints. */
async function removeHiddenTemps(
  dir: string,
  remove: (target: string, reason: string) => Promise<void>,
  depth = 0,
): Promise<void> {
  for (const name of await listDir(dir)) {
    const target = path.join(dir, name);
    if (name.startsWith('.')) {
      // The top level was handled by the caller; deeper down, only interrupted writes start with '.'.
      if (depth > 0 && name.endsWith('.tmp')) await remove(target, 'temp file of an interrupted write');
      continue;
    }
    if ((await fsp.lstat(target).catch(() => null))?.isDirectory()) await removeHiddenTemps(target, remove, depth + 1);
  }
}

/** Takes a unit's lock for gc, first removing it if stale; null while a live process holds it. */
async function acquireForGc(lockFile: string, timing: LockTiming): Promise<HeldLock | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = await HeldLock.tryAcquire(lockFile, 'gc');
    if (lock) return lock;
    const state = await inspectLock(lockFile);
    if (state.state === 'free') continue;
    if (staleReason(state, Date.now(), timing) === null) return null;
    await removeLockIf(lockFile, { ino: state.ino, mtimeMs: state.mtimeMs, token: state.owner?.token });
  }
  return null;
}
