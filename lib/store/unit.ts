/**
 * The two faces of a unit: `UnitWriter`, handed to the computation while it runs (it writes outputs
 * into a private work folder and saves resume checkpoints), and `FinishedUnit`, what `get` and
 * `compute` return once the manifest is committed (read-only, every read checked against the manifest).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';
import type { Json, UnitIdentity } from './canonical';
import { checkBytes, type FileDigest } from './checksum';
import type { Checkpoint, CheckpointFolder } from './checkpoints';
import { StoreError, ioError } from './errors';
import { exportTable, type ExportableTable, type TableFormat, TABLE_FORMATS } from './export';
import { checkFileName } from './layout';
import type { Manifest } from './manifest';
import { writeProgress, type UnitProgress } from './progress';

/** What a computation gets: where to write its outputs and how to checkpoint and resume. */
export class UnitWriter {
  /** The unit's kind. */
  readonly kind: string;
  /** The unit's hash (its folder name). */
  readonly hash: string;
  /** The config exactly as hashed (keys sorted). */
  readonly config: Json;
  private closed = false;

  /** @internal Built by Store.compute. */
  constructor(
    identity: UnitIdentity,
    /** The unit's folder; outputs appear here only when the unit commits. */
    readonly dir: string,
    /** Where this attempt's outputs are written until commit. */
    readonly workDir: string,
    private readonly checkpoints: CheckpointFolder,
    /** Aborted if this process lost the unit's lock (another judged it stale); stop work when it fires. */
    readonly signal: AbortSignal,
  ) {
    this.kind = identity.kind;
    this.hash = identity.hash;
    this.config = identity.config;
  }

  private open(name: string, doing: string): string {
    if (this.closed)
      throw new StoreError(
        'COMPUTE_FAILED',
        `${this.dir}: ${doing} "${name}" after the unit's computation returned; write every output before returning`,
      );
    if (this.signal.aborted) throw this.signal.reason as Error;
    checkFileName(name, `${this.kind} unit ${this.hash.slice(0, 12)}`);
    return path.join(this.workDir, ...name.split('/'));
  }

  /**
   * The path where output `name` ('weights.safetensors', 'metrics/train.csv') is to be written,
   * for writers that take a path. Its folder exists. Write it atomically (io/atomic-write) if a
   * later step of the same computation may read it; every file in the work folder at commit is an output.
   */
  path(name: string): string {
    const file = this.open(name, 'asked for the path of');
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    } catch (e) {
      throw ioError(path.dirname(file), 'creating the output folder', e);
    }
    return file;
  }

  /** Writes output `name` atomically (bytes, or text as UTF-8). */
  async writeFile(name: string, data: Uint8Array | string): Promise<void> {
    const file = this.path(name);
    try {
      await writeFileAtomic(file, typeof data === 'string' ? Buffer.from(data) : data);
    } catch (e) {
      throw ioError(file, `writing output "${name}"`, e);
    }
  }

  /** Writes output `name` as indented JSON (JSON.stringify rules: NaN becomes null). */
  async writeJson(name: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value, null, 2);
    if (text === undefined)
      throw new StoreError('INVALID_NAME', `${this.dir}: output "${name}": ${typeof value} cannot be written as JSON`);
    await this.writeFile(name, `${text}\n`);
  }

  /** Writes an arquero table as `<base>.csv`, `.json` and `.arrow` (or the formats given); returns the output names. */
  async writeTable(
    base: string,
    table: ExportableTable,
    formats: readonly TableFormat[] = TABLE_FORMATS,
  ): Promise<string[]> {
    const names = formats.map((f) => `${base}.${f}`);
    for (const name of names) this.open(name, 'wrote');
    this.path(names[0]); // creates the folder
    await exportTable(table, path.join(this.workDir, ...base.split('/')), formats);
    return names;
  }

  /**
   * Saves a resume checkpoint at `step` (the caller's counter). `files` are small-to-large blobs
   * (e.g. encodeSafetensors output); `info` is JSON saved beside them. How often is the caller's
   * choice: each save costs a write and two fsyncs per file.
   */
  async checkpoint(
    step: number,
    files: Record<string, Uint8Array> | ReadonlyMap<string, Uint8Array>,
    info: Json = null,
  ): Promise<void> {
    if (this.closed)
      throw new StoreError('COMPUTE_FAILED', `${this.dir}: checkpoint after the unit's computation returned`);
    if (this.signal.aborted) throw this.signal.reason as Error;
    await this.checkpoints.save(step, files, info);
  }

  /** The newest intact resume checkpoint from an earlier, interrupted attempt (or this one), or null to start fresh. */
  async latestCheckpoint(): Promise<Checkpoint | null> {
    return this.checkpoints.latest();
  }

  /**
   * Records how far the computation has come (store/progress.ts) for other processes to see. A
   * hint, not an output: a failed write is ignored (the checkpoints and outputs report their own).
   */
  async reportProgress(progress: UnitProgress): Promise<void> {
    if (this.closed || this.signal.aborted) return;
    await writeProgress(this.dir, progress).catch(() => undefined);
  }

  /** @internal No writes after the computation returned. */
  close(): void {
    this.closed = true;
  }
}

/** A committed unit: its config, summary and verified files. */
export class FinishedUnit {
  readonly kind: string;
  readonly hash: string;
  readonly config: Json;
  /** What the computation returned. */
  readonly summary: Json;

  /** @internal Built by the store after verification. */
  constructor(
    /** The unit's folder. */
    readonly dir: string,
    /** The committed manifest (file digests, timings, host). */
    readonly manifest: Manifest,
    /** True when this call ran the computation; false when the result came from the store. */
    readonly computed: boolean,
  ) {
    this.kind = manifest.kind;
    this.hash = manifest.hash;
    this.config = manifest.config;
    this.summary = manifest.summary;
  }

  /** Output names (config.json excluded), sorted. */
  get files(): string[] {
    return Object.keys(this.manifest.files)
      .filter((f) => f !== 'config.json')
      .sort();
  }

  private digest(name: string): FileDigest {
    const digest = Object.prototype.hasOwnProperty.call(this.manifest.files, name)
      ? this.manifest.files[name]
      : undefined;
    if (!digest)
      throw new StoreError(
        'NOT_FOUND',
        `${this.dir}: the unit has no file "${name}"; it has ` +
          `${this.files.map((f) => `"${f}"`).join(', ') || 'no outputs'}`,
      );
    return digest;
  }

  /** Absolute path of output `name` (verified when the unit was opened). Read-only: never write there. */
  path(name: string): string {
    this.digest(name);
    return path.join(this.dir, ...name.split('/'));
  }

  /** Reads output `name` and checks the bytes against the manifest (so what you get is what was committed). */
  async readFile(name: string): Promise<Buffer> {
    const digest = this.digest(name);
    const file = this.path(name);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (e) {
      throw ioError(file, 'reading a finished unit', e);
    }
    const mismatch = checkBytes(bytes, digest);
    if (mismatch) {
      throw new StoreError(
        'CORRUPT',
        `${file}: ${mismatch.problem} (expected ${mismatch.expected}, found ${mismatch.actual}); ` +
          `the file changed after the unit was verified; request the unit again to recompute it`,
      );
    }
    return bytes;
  }

  /** Reads output `name` as UTF-8 text (verified). */
  async readText(name: string): Promise<string> {
    return (await this.readFile(name)).toString('utf8');
  }

  /** Reads output `name` as JSON (verified). */
  async readJson<T = unknown>(name: string): Promise<T> {
    return JSON.parse(await this.readText(name)) as T;
  }
}
