/**
 * Where things live on disk. A store is a folder (default `$LMC_HOME/store`, `~/.lmc/store`):
 *
 *   <root>/lmc-store.json                 marks the folder as a store (gc refuses to run without it)
 *   <root>/<kind>/<hash>/                 one unit of work; <hash> is the full SHA-256 of its identity
 *       config.json                       {"config":..., "kind":...}: the exact text that was hashed
 *       <outputs>                         files the unit wrote (checkpoints, metrics), maybe in subfolders
 *       manifest.json                     committed last; lists every file with size and SHA-256
 *       .lock                             present while a process computes the unit
 *       .work-<token>/                    outputs of the attempt in progress, moved up on commit
 *       partial/<step>/                   resume checkpoints, each with its own checksum sidecar
 *
 * Flat `<kind>/<hash>` rather than git-style `<hash[0:2]>/` fan-out: a paper grid is thousands of
 * units per kind, which every file system lists comfortably, and a flat folder is easier to browse.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { StoreError, errnoCode, ioError } from './errors';
import { readSetting } from '../settings';

export const CONFIG_FILE = 'config.json';
export const MANIFEST_FILE = 'manifest.json';
export const LOCK_FILE = '.lock';
export const PARTIAL_DIR = 'partial';
export const WORK_PREFIX = '.work-';
export const MARKER_FILE = 'lmc-store.json';
export const STORE_FORMAT = 'lmc-lab store 1';

/**
 * `$LMC_HOME/store`, or `~/.lmc/store` when LMC_HOME is unset or
 * empty; relative paths resolve against the working directory.
 */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const home = readSetting('home', env) ?? path.join(os.homedir(), '.lmc');
  return path.join(home, 'store');
}

/** The folder of a unit. */
export function unitDir(root: string, kind: string, hash: string): string {
  return path.join(root, kind, hash);
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.,=+@-]{0,127}$/;
const RESERVED = new Set([CONFIG_FILE, MANIFEST_FILE, PARTIAL_DIR]);

/**
 * Checks a file name a unit writes: a relative path of '/'-separated segments, each starting with a
 * letter, digit or '_' (so it can never be '..', a hidden temp file or an absolute path), at most 4
 * deep, and not one of the store's own names. Returns the name.
 */
export function checkFileName(name: unknown, where: string): string {
  const bad = (why: string): never => {
    throw new StoreError('INVALID_NAME', `${where}: file name ${JSON.stringify(name)} ${why}`);
  };
  if (typeof name !== 'string' || name === '') return bad('must be a non-empty string');
  const segments = name.split('/');
  if (segments.length > 4) bad('is nested more than 4 folders deep');
  for (const s of segments) {
    if (!SEGMENT.test(s))
      bad(
        `has an invalid part ${JSON.stringify(s)}: each part starts with a letter, ` +
          `digit or '_' and holds only letters, digits and _ . , = + @ - (at most 128 characters)`,
      );
  }
  if (RESERVED.has(segments[0])) bad(`is reserved by the store (${[...RESERVED].join(', ')})`);
  return name;
}

/** Outcome of reading a JSON file that may be absent or damaged. */
export type JsonRead =
  { state: 'ok'; value: unknown; text: string } | { state: 'missing' } | { state: 'invalid'; problem: string };

/** Reads and parses a JSON file, telling apart absent, unreadable/unparsable and fine. */
export async function readJsonFile(file: string): Promise<JsonRead> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { state: 'missing' };
    return { state: 'invalid', problem: `cannot read (${(e as Error).message})` };
  }
  try {
    return { state: 'ok', value: JSON.parse(text), text };
  } catch (e) {
    return { state: 'invalid', problem: `not valid JSON (${(e as Error).message}); the file is truncated or damaged` };
  }
}

/** Names in a folder, or [] when the folder does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw ioError(dir, 'listing the folder', e);
  }
}

/** Every regular file under `dir`, as '/'-separated paths relative to it, sorted; hidden names skipped. */
export async function listFilesRecursive(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return out;
    throw ioError(dir, 'listing the folder', e);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(...(await listFilesRecursive(path.join(dir, entry.name), `${rel}/`)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Total bytes and latest modification time of everything under a path. */
export async function treeStats(target: string): Promise<{ bytes: number; modified: Date }> {
  let bytes = 0;
  let modified = 0;
  const walk = async (p: string): Promise<void> => {
    let st;
    try {
      st = await fsp.lstat(p);
    } catch {
      return; // vanished while we looked: a concurrent writer's temp file
    }
    modified = Math.max(modified, st.mtimeMs);
    if (st.isDirectory()) {
      for (const name of await listDir(p)) await walk(path.join(p, name));
    } else {
      bytes += st.size;
    }
  };
  await walk(target);
  return { bytes, modified: new Date(modified) };
}

/** Removes a file or folder tree; absent is fine. */
export async function removeTree(target: string): Promise<void> {
  try {
    await fsp.rm(target, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    throw ioError(target, 'removing', e);
  }
}

/** Creates a folder and its parents. */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw ioError(dir, 'creating the folder', e);
  }
}

/** Flushes a folder's entries so that renames into it survive a power loss (a no-op where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES')
      throw ioError(dir, 'syncing the folder', e);
  } finally {
    await handle?.close();
  }
}
