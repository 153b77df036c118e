/**
 * Every instability pair of a store as one arquero table for exploring (notebook 07): one row per
 * finished pair, read through lib/experiments/runs.ts (`listPairRuns`), with the short column
 * names the notebook queries by.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { listPairRuns, type PairRunRow } from '../experiments/runs';
import { openStore, type Store } from '../store';

/** A pair as the exploring table holds it; instability, endpoint error and accuracy are fractions. */
export interface StorePairRow {
  /** The unit's hash, first 12 characters (`lmc show` takes it). */
  unit: string;
  /** The Table 1 row and scale whose training config the pair used (seeds aside), or 'custom'. */
  preset: string;
  scale: string;
  model: string | null;
  /** Training length T. */
  T: string | null;
  /** Fingerprint of the data. */
  data: string | null;
  k: number | null;
  /** The W_0 seed, first 6 digits. */
  init: string;
  pair: number | null;
  kind: PairRunRow['subnetwork'];
  /** Fraction of prunable weights kept (1: unpruned). */
  density: number;
  bn: string;
  alphas: number;
  /** The copies and α grid (not the BatchNorm policy), hashed: equal for one path measured under both policies. */
  path: string;
  testInstability: number | null;
  trainInstability: number | null;
  testEndpointError: number | null;
  testAccuracy: number | null;
  l2: number | null;
  l2Prunable: number | null;
}

/** A pair run as the exploring table's row. */
export function storePairRow(r: PairRunRow): StorePairRow {
  const where =
    r.scale !== null && r.preset !== null
      ? { preset: r.preset, scale: r.scale as string }
      : { preset: 'custom', scale: 'custom' };
  return {
    unit: r.hash.slice(0, 12),
    ...where,
    model: r.model,
    T: r.training,
    data: r.data,
    k: r.k,
    init: String(r.initSeed).slice(0, 6),
    pair: r.pair,
    kind: r.subnetwork,
    density: r.density ?? 1,
    bn: r.bn,
    alphas: r.alphas,
    path: r.pathHash.slice(0, 12),
    testInstability: r.instabilityTest,
    trainInstability: r.instabilityTrain,
    testEndpointError: r.testEndpointError,
    testAccuracy: r.testAccuracy,
    l2: r.l2,
    l2Prunable: r.l2Prunable,
  };
}

/** Every finished instability pair of `store` (default: $LMC_HOME/store) as a table, one row per pair. */
export async function storePairsTable(store: Store = openStore()): Promise<ColumnTable> {
  return aq.from((await listPairRuns(store)).map(storePairRow));
}
