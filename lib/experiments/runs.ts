/**
 * The units of a store as runs a researcher browses: one flat row per unit (what it is, its seeds,
 * its state with step and ETA while it trains, its headline numbers when finished), the curves of
 * instability pairs, and a selection as an arquero table. The Runs panel of the JupyterLab
 * extension and `lmc.runsTable` read the store through here; any process's units show, since
 * state and progress come from the store's folders, not from this process.
 */
import * as aq from 'arquero';
import { openStore, unitEtaSeconds, type Json, type Store, type UnitInfo, type UnitState } from '../store';
import { PRESETS } from '../train/presets';
import { formatDuration } from '../io/duration';
import type { InterpolationPoint } from '../stability';
import { unitLabel } from './keys';

/** One unit of the store, flattened. Fields that do not apply to its kind are null. */
export interface RunRow {
  kind: string;
  /** Full unit hash (its folder name). */
  hash: string;
  /** "instability-pair k=500 pair=0 init=272148…". */
  label: string;
  /** The Table 1 preset whose network and learning rate it trains (null when none matches). */
  preset: string | null;
  model: string | null;
  dataset: string | null;
  /** Training length as the config gives it ("40it", "24000it"). */
  training: string | null;
  k: number | null;
  level: number | null;
  pair: number | null;
  initSeed: number | null;
  dataOrderSeed: number | null;
  /** Fraction of prunable weights kept (pairs on a mask, IMP levels, sparse copies). */
  density: number | null;
  state: UnitState;
  /** The state in words: "finished", "running 340/1000, ETA 12s", "unfinished at 300/1000", "corrupt". */
  status: string;
  /** Steps done and the last step, while it runs or where an unfinished one stopped. */
  step: number | null;
  to: number | null;
  /** Seconds left at this attempt's rate, for a running unit that reports progress. */
  etaSeconds: number | null;
  /** Who computes it ("pid 4242 on host", for a running unit). */
  owner: string | null;
  /** Finished instability pairs: instability and endpoint errors (fractions) and L2 distance. */
  instabilityTest: number | null;
  instabilityTrain: number | null;
  l2: number | null;
  /** Finished copies and IMP levels: test error (fraction). */
  testError: number | null;
  /** Latest change under the unit's folder (ISO 8601). */
  modified: string;
}

type Fields = Record<string, Json | undefined>;

const numberOr = (v: Json | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const stringOr = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null);

/** The Table 1 preset of a unit's training config: same network, learning rate and warmup. */
function presetOf(train: Fields): string | null {
  for (const p of PRESETS.values()) {
    if (p.config.model === train.model && p.config.lr === train.lr && (p.config.warmup ?? null) === (train.warmup ?? null)) return p.name;
  }
  return null;
}

function statusText(state: UnitState, step: number | null, to: number | null, eta: number | null): string {
  if (step === null || to === null || (state !== 'running' && state !== 'unfinished')) return state;
  if (state === 'unfinished') return `unfinished at ${step}/${to}`;
  return `running ${step}/${to}${eta === null ? '' : `, ETA ${formatDuration(eta)}`}`;
}

/** A unit listed by the store as a row. */
export function runRow(u: UnitInfo): RunRow {
  const config = (u.config ?? {}) as Fields;
  const train = (config.train ?? {}) as Fields;
  const summary = (u.summary ?? {}) as Fields;
  const splits = (summary.splits ?? {}) as Record<string, Fields>;
  const progress = u.progress;
  const etaSeconds = unitEtaSeconds(u);
  // Column order of runsTable: what a reader scans first, the hash last.
  return {
    kind: u.kind,
    label: unitLabel(u.kind, u.config),
    status: statusText(u.state, progress?.step ?? null, progress?.to ?? null, etaSeconds),
    k: numberOr(config.k),
    level: numberOr(config.level),
    pair: numberOr(config.pair),
    density: numberOr(summary.density),
    instabilityTest: numberOr(splits.test?.instability),
    instabilityTrain: numberOr(splits.train?.instability),
    l2: numberOr(summary.l2),
    testError: numberOr(summary.testError),
    preset: presetOf(train),
    model: stringOr(train.model),
    dataset: stringOr(train.dataset),
    training: stringOr(train.training),
    // Seeds left out of a canonical config are the default, 0.
    initSeed: config.train === undefined ? null : (numberOr(train.initSeed) ?? 0),
    dataOrderSeed: config.train === undefined ? null : (numberOr(train.dataOrderSeed) ?? 0),
    state: u.state,
    step: progress?.step ?? null,
    to: progress?.to ?? null,
    etaSeconds,
    owner: u.owner,
    modified: u.modified.toISOString(),
    hash: u.hash,
  };
}

/** Every unit of the store as a row (sorted by kind, then hash), running units with their step and ETA. */
export async function listRuns(store: Store): Promise<RunRow[]> {
  return (await store.list()).map(runRow);
}

/** A finished instability pair's interpolation curve, with the row it belongs to. */
export interface PairCurve {
  run: RunRow;
  points: InterpolationPoint[];
}

/** The curves of finished instability pairs, by full hash or unique prefix; an error names any other unit. */
export async function pairCurves(store: Store, hashes: readonly string[]): Promise<PairCurve[]> {
  const out: PairCurve[] = [];
  for (const ref of hashes) {
    const info = await store.show(`instability-pair/${ref}`);
    const unit = info.state === 'finished' ? await store.get(info.kind, info.config) : null;
    if (!unit) throw new Error(`runs: instability pair ${info.hash.slice(0, 12)} is ${info.state}, not finished; only finished pairs have a curve`);
    out.push({ run: runRow(info), points: await unit.readJson<InterpolationPoint[]>('curve.json') });
  }
  return out;
}

/**
 * The units `hashes` name (full hashes or unique prefixes, as `lmc ls` prints them) as an arquero
 * table of their rows (RunRow), in the order given, from `store` (default: $LMC_HOME/store). The
 * Runs panel's "Insert cell" writes a call of this for the selected units.
 */
export async function runsTable(hashes: readonly string[], store: Store = openStore()): Promise<aq.ColumnTable> {
  const rows: RunRow[] = [];
  for (const ref of hashes) rows.push(runRow(await store.show(ref)));
  if (rows.length === 0) throw new Error('runsTable: no hashes given; pass the hashes of the units to load (the Runs panel inserts them)');
  return aq.from(rows);
}
