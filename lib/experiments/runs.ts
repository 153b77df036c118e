/**
 * The units of a store as runs a researcher browses: one flat row per unit (what it is, its seeds,
 * its state with step and ETA while it trains, its headline numbers when finished), the curves of
 * instability pairs, and a selection as an arquero table. The Runs panel of the JupyterLab
 * extension and `lmc.experiments.runsTable` read the store through here; any process's units show, since
 * state and progress come from the store's folders, not from this process.
 */
import * as aq from 'arquero';
import {
  canonicalJson,
  openStore,
  sha256,
  unitEtaSeconds,
  type Json,
  type Store,
  type UnitInfo,
  type UnitState,
} from '../store';
import { PRESETS, presetConfig } from '../train/presets';
import { canonicalConfig, SCALES, type Scale } from '../train/config';
import { formatDuration } from '../io/duration';
import { PAPER_ALPHA_COUNT, type InterpolationPoint } from '../stability';
import { unitLabel } from './keys';
import type { RunRow } from '../io/wire';

type Fields = Record<string, Json | undefined>;

const numberOr = (v: Json | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const stringOr = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null);

/** A training config recognised as a Table 1 row (see `presetOfTraining`). */
export interface PresetMatch {
  preset: string;
  /** The scale at which the config is the preset's exactly, seeds aside; null: only network, rate and warmup match. */
  scale: Scale | null;
}

/** A canonical training config without its seeds, as a string to compare configs by. */
function withoutSeeds(train: Fields): string {
  const { initSeed: _init, dataOrderSeed: _order, ...rest } = train;
  return canonicalJson(rest, 'train');
}

// Every preset at every scale, seeds aside, keyed by its canonical form: built once, on first use.
let exactPresets: Map<string, PresetMatch> | null = null;

/**
 * The Table 1 row of a unit's training config (its canonical form, as the unit's config holds it):
 * the preset and scale whose config it is, seeds aside; else the preset with its network, learning
 * rate and paper warmup, at no scale; else null.
 */
export function presetOfTraining(train: Fields): PresetMatch | null {
  exactPresets ??= new Map(
    [...PRESETS.keys()].flatMap((preset) =>
      SCALES.map((scale): [string, PresetMatch] => [
        withoutSeeds(JSON.parse(canonicalConfig(presetConfig(preset, scale))) as Fields),
        { preset, scale },
      ]),
    ),
  );
  const exact = exactPresets.get(withoutSeeds(train));
  if (exact) return exact;
  for (const p of PRESETS.values()) {
    const sameWarmup = (p.config.warmup ?? null) === (train.warmup ?? null);
    const sameRun = p.config.model === train.model && p.config.lr === train.lr && sameWarmup;
    if (sameRun) return { preset: p.name, scale: null };
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
  const preset = config.train === undefined ? null : presetOfTraining(train);
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
    preset: preset?.preset ?? null,
    scale: preset?.scale ?? null,
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

/** A finished instability pair as a row to compare pairs by: its RunRow, and what its config and summary say. */
export interface PairRunRow extends RunRow {
  /** The copies' network: 'unpruned', 'imp', 'random-prune', 'random-reinit' (IMP mask, new weights), 'stored-mask'. */
  subnetwork: 'unpruned' | 'imp' | 'random-prune' | 'random-reinit' | 'stored-mask';
  /** The BatchNorm policy along the path: 'interpolate' or 'recompute'. */
  bn: string;
  /** Points on the path (the paper's 30 unless the pair was measured on a grid of its own). */
  alphas: number;
  /**
   * SHA-256 of everything that identifies the two copies and the α grid, but not the BatchNorm policy:
   * the same copies measured under both policies share it.
   */
  pathHash: string;
  /** Fingerprint of the data the pair was trained and measured on. */
  data: string | null;
  /** Test error at the path's two ends, averaged (fraction). */
  testEndpointError: number | null;
  /** Test accuracy of the two copies as trained, averaged (fraction). */
  testAccuracy: number | null;
  /** L2 distance between the copies over the prunable kernels only. */
  l2Prunable: number | null;
}

/** Which network a pair's copies were, as its config's mask and reinit say. */
function subnetworkOf(config: Fields): PairRunRow['subnetwork'] {
  const mask = config.mask;
  if (mask === undefined || mask === null || typeof mask !== 'object') return 'unpruned';
  if ('randomPrune' in mask) return 'random-prune';
  if ('sha256' in mask) return 'stored-mask';
  return config.reinit !== undefined ? 'random-reinit' : 'imp';
}

/** A finished instability pair of the store (its summary with per-split measures) as a row. */
export function pairRunRow(u: UnitInfo): PairRunRow {
  const config = (u.config ?? {}) as Fields;
  const summary = (u.summary ?? {}) as Fields;
  const test = ((summary.splits ?? {}) as Record<string, Fields>).test;
  const { bn, bnBatches: _batches, bnSeed: _seed, ...copiesAndGrid } = config;
  const trainedErrors = [numberOr(test?.trainedError1), numberOr(test?.trainedError2)];
  return {
    ...runRow(u),
    subnetwork: subnetworkOf(config),
    bn: stringOr(bn) ?? 'interpolate',
    alphas: Array.isArray(config.alphas) ? config.alphas.length : PAPER_ALPHA_COUNT,
    pathHash: sha256(canonicalJson(copiesAndGrid, 'pair config')),
    data: stringOr(config.data),
    testEndpointError: numberOr(test?.meanEndpointError),
    testAccuracy: trainedErrors.includes(null) ? null : 1 - (trainedErrors[0]! + trainedErrors[1]!) / 2,
    l2Prunable: numberOr(summary.l2Prunable),
  };
}

/**
 * Every finished instability pair of the store as a row; pairs of an older summary format (no
 * per-split measures) are left out rather than misread.
 */
export async function listPairRuns(store: Store): Promise<PairRunRow[]> {
  const listed = await store.list({ kind: 'instability-pair' });
  const measured = (u: UnitInfo) => typeof (u.summary as { splits?: unknown } | null)?.splits === 'object';
  return listed.filter((u) => u.state === 'finished' && measured(u)).map(pairRunRow);
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
    if (!unit)
      throw new Error(
        `runs: instability pair ${info.hash.slice(0, 12)} is ${info.state}, not finished; ` +
          `only finished pairs have a curve`,
      );
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
  if (rows.length === 0)
    throw new Error('runsTable: no hashes given; pass the hashes of the units to load (the Runs panel inserts them)');
  return aq.from(rows);
}
