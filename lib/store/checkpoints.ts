/**
 * Resume checkpoints of an unfinished unit, in `<unit>/partial/<step>/`. Each checkpoint is a few
 * named files plus `checkpoint.json`, written after them, holding their sizes and SHA-256 and the
 * caller's small JSON `info`. A checkpoint without its sidecar, or whose files do not match it, is
 * never used: it is reported, deleted, and the next older one is tried. The store keeps the newest
 * `keep` checkpoints (default 2, so one damaged latest checkpoint costs an interval, not the run).
 * When the unit commits, the whole `partial/` folder is deleted: checkpoints exist to resume, and a
 * unit that wants to keep intermediate weights writes them as outputs.
 */
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic-write';
import { canonicalJson, sha256, type Json } from './canonical';
import { checkBytes, isFileDigest, type FileDigest } from './checksum';
import { StoreError, ioError } from './errors';
import { checkFileName, ensureDir, listDir, readJsonFile, removeTree } from './layout';

const SIDECAR = 'checkpoint.json';
const FORMAT = 'lmc-lab checkpoint set 1';
const STEP_DIGITS = 12;

/** A verified resume checkpoint. */
export interface Checkpoint {
  /** The step it was saved at (the caller's counter: iterations, rounds...). */
  step: number;
  /** The caller's JSON saved with it. */
  info: Json;
  /** Its files, read into memory and checked against their checksums. */
  files: Map<string, Buffer>;
  /** The folder holding the same (verified) files, for readers that want a path. */
  dir: string;
}

interface Sidecar {
  format: string;
  step: number;
  files: Record<string, FileDigest>;
  info: Json;
}

/** Called when a checkpoint is found damaged and discarded. */
export type CheckpointReport = (step: number, file: string, problem: string) => void;

/** The resume checkpoints of one unit. */
export class CheckpointFolder {
  constructor(
    readonly dir: string,
    private readonly keep: number,
    private readonly report: CheckpointReport,
  ) {}

  private stepDir(step: number): string {
    return path.join(this.dir, String(step).padStart(STEP_DIGITS, '0'));
  }

  /** Steps that have a folder, newest first (whether or not they verify). */
  async steps(): Promise<number[]> {
    const names = await listDir(this.dir);
    return names
      .filter((n) => /^\d+$/.test(n) && n.length === STEP_DIGITS)
      .map(Number)
      .sort((a, b) => b - a);
  }

  /** Saves a checkpoint: files first, then the sidecar that makes it count; older ones beyond `keep` are deleted. */
  async save(
    step: number,
    files: Record<string, Uint8Array> | ReadonlyMap<string, Uint8Array>,
    info: Json = null,
  ): Promise<void> {
    if (!Number.isSafeInteger(step) || step < 0)
      throw new StoreError('INVALID_STEP', `${this.dir}: checkpoint step ${step} must be a non-negative integer`);
    const entries = files instanceof Map ? [...files] : Object.entries(files);
    if (entries.length === 0) throw new StoreError('INVALID_NAME', `${this.dir}: a checkpoint needs at least one file`);
    canonicalJson(info, `checkpoint info at step ${step}`);
    const dir = this.stepDir(step);
    const digests: Record<string, FileDigest> = {};
    for (const [name, bytes] of entries) {
      checkFileName(name, `checkpoint at step ${step}`);
      if (name === SIDECAR)
        throw new StoreError('INVALID_NAME', `${dir}: "${SIDECAR}" is reserved for the checkpoint's checksums`);
      if (!(bytes instanceof Uint8Array))
        throw new StoreError('INVALID_NAME', `${dir}: checkpoint file "${name}" must be a Uint8Array (or Buffer)`);
      digests[name] = { size: bytes.length, sha256: sha256(bytes) };
    }
    try {
      await ensureDir(dir);
      // Drop the old sidecar first: re-saving a step must never pair old checksums with half-new files.
      await fsp.rm(path.join(dir, SIDECAR), { force: true });
      for (const [name, bytes] of entries) {
        const file = path.join(dir, ...name.split('/'));
        await ensureDir(path.dirname(file));
        await writeFileAtomic(file, bytes);
      }
      const sidecar: Sidecar = { format: FORMAT, step, files: digests, info };
      await writeFileAtomic(path.join(dir, SIDECAR), Buffer.from(`${JSON.stringify(sidecar, null, 2)}\n`));
    } catch (e) {
      throw ioError(dir, `saving the checkpoint at step ${step}`, e);
    }
    await this.prune(step);
  }

  private async prune(newest: number): Promise<void> {
    const steps = await this.steps();
    let kept = 0;
    for (const step of steps) {
      // a later checkpoint from an earlier attempt: the caller went back; leave it to latest()
      if (step > newest) continue;
      if (kept < this.keep && (await readJsonFile(path.join(this.stepDir(step), SIDECAR))).state === 'ok') {
        kept++;
        continue;
      }
      await this.discard(step);
    }
  }

  private async discard(step: number): Promise<void> {
    const dir = this.stepDir(step);
    await fsp.rm(path.join(dir, SIDECAR), { force: true }).catch(() => undefined);
    await removeTree(dir);
  }

  /** The newest checkpoint whose files match their checksums, or null. Damaged ones are reported and deleted. */
  async latest(): Promise<Checkpoint | null> {
    for (const step of await this.steps()) {
      const dir = this.stepDir(step);
      const read = await readJsonFile(path.join(dir, SIDECAR));
      if (read.state === 'missing') continue; // a save that never finished: not damage, just never committed
      if (read.state === 'invalid') {
        this.report(step, path.join(dir, SIDECAR), read.problem);
        await this.discard(step);
        continue;
      }
      const checkpoint = await this.load(step, dir, read.value as Sidecar);
      if (checkpoint) return checkpoint;
      await this.discard(step);
    }
    return null;
  }

  private async load(step: number, dir: string, sidecar: Sidecar): Promise<Checkpoint | null> {
    if (
      sidecar?.format !== FORMAT ||
      sidecar.step !== step ||
      typeof sidecar.files !== 'object' ||
      sidecar.files === null
    ) {
      this.report(step, path.join(dir, SIDECAR), `not a valid checkpoint sidecar for step ${step}`);
      return null;
    }
    const files = new Map<string, Buffer>();
    for (const [name, digest] of Object.entries(sidecar.files)) {
      const file = path.join(dir, ...name.split('/'));
      if (!isFileDigest(digest) || name.split('/').includes('..')) {
        this.report(step, path.join(dir, SIDECAR), `invalid entry for ${JSON.stringify(name)}`);
        return null;
      }
      let bytes: Buffer;
      try {
        bytes = await fsp.readFile(file);
      } catch (e) {
        this.report(step, file, `cannot read (${(e as Error).message})`);
        return null;
      }
      const mismatch = checkBytes(bytes, digest);
      if (mismatch) {
        this.report(step, file, `${mismatch.problem} (expected ${mismatch.expected}, found ${mismatch.actual})`);
        return null;
      }
      files.set(name, bytes);
    }
    return { step, info: sidecar.info ?? null, files, dir };
  }
}
