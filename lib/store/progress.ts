/**
 * How far a running unit has come, readable by any process that sees the store: the computation
 * writes a small record beside its lock (`.progress.json`), replaced atomically at most about once
 * a second; `lmc ls`, the Runs panel and cluster status read it. It is a hint, never an output:
 * it is not in the manifest and it goes when the unit commits.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';
import { readJsonFile } from './layout';

/** The record's file name in the unit's folder. */
export const PROGRESS_FILE = '.progress.json';

/** Where a unit's computation stands. */
export interface UnitProgress {
  /** Steps done (the caller's counter, e.g. optimizer updates). */
  step: number;
  /** The step this attempt started from (a resumed attempt starts past 0). */
  from: number;
  /** The step it ends at. */
  to: number;
  /** When this attempt started counting (ISO 8601). */
  startedAt: string;
  /** When `step` was reached (ISO 8601). */
  updatedAt: string;
}

/** Writes the record of the unit in `dir`; replaces the previous one atomically. */
export async function writeProgress(dir: string, progress: UnitProgress): Promise<void> {
  await writeFileAtomic(path.join(dir, PROGRESS_FILE), Buffer.from(`${JSON.stringify(progress)}\n`));
}

/** The record of the unit in `dir`, or null when there is none or it is not a progress record. */
export async function readProgress(dir: string): Promise<UnitProgress | null> {
  const read = await readJsonFile(path.join(dir, PROGRESS_FILE));
  if (read.state !== 'ok') return null;
  const p = read.value as Partial<UnitProgress> | null;
  const whole = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const time = (v: unknown) => typeof v === 'string' && Number.isFinite(Date.parse(v));
  if (!p || !whole(p.step) || !whole(p.from) || !whole(p.to) || !time(p.startedAt) || !time(p.updatedAt)) return null;
  return { step: p.step!, from: p.from!, to: p.to!, startedAt: p.startedAt!, updatedAt: p.updatedAt! };
}

/**
 * Seconds left as of the record's last update, at this attempt's rate so far (steps done since
 * `from` over the time they took); null before a step has been timed.
 */
export function progressEtaSeconds(p: UnitProgress): number | null {
  const done = p.step - p.from;
  const seconds = (Date.parse(p.updatedAt) - Date.parse(p.startedAt)) / 1000;
  if (done <= 0 || !(seconds > 0)) return null;
  return Math.max(0, ((p.to - p.step) * seconds) / done);
}
