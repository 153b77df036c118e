/**
 * The results of an instability experiment as tidy arquero tables (one observation per row,
 * one variable per column) and a per-k summary: mean and std over inits x pairs.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { tf } from '../tf';
import type { Model } from '../models/types';
import { meanStd, type InstabilityMeasure, type MeanStd } from './measure';
import type { BatchNormPolicy } from './batchnorm';

/** Where a row sits in the experiment. */
export interface PairKey {
  /** Step the copies started from (iterations). */
  k: number;
  /** Index of the initialization. */
  init: number;
  /** Seed of that initialization's W_0. */
  initSeed: number;
  /** Index of the pair within the initialization. */
  pair: number;
  /** "init.pair": names the replicate, as the display's plot builders expect in a `run` field. */
  run: string;
}

/** One point of an interpolation curve (with step and epoch for curves taken during training). */
export interface CurveRow extends PairKey {
  step?: number;
  epoch?: number;
  alpha: number;
  split: string;
  error: number;
  loss: number;
}

/** Instability of one pair on one split at T; pair-level columns (seeds, L2, density) repeat on each split's row. */
export interface PairRow extends PairKey, InstabilityMeasure {
  seed1: number;
  seed2: number;
  /** Errors of the two networks as trained (their own BatchNorm statistics), whatever the policy. */
  trainedError1: number;
  trainedError2: number;
  /** L2 distance at T over every trainable parameter. */
  l2: number;
  /** L2 distance at T over the prunable kernels only. */
  l2Prunable: number;
  /** Fraction of prunable weights kept (null for dense networks). */
  density: number | null;
}

/** Instability of one pair on one split at a checkpoint during training. */
export interface ThroughoutRow extends PairKey, InstabilityMeasure {
  step: number;
  epoch: number;
}

/** L2 distances of one pair at one step. */
export interface DistanceRow extends PairKey {
  step: number;
  epoch: number;
  l2: number;
  l2Prunable: number;
}

/** Every row an experiment collects. */
export interface ExperimentRows {
  curves: CurveRow[];
  pairs: PairRow[];
  distances: DistanceRow[];
  throughoutCurves: CurveRow[];
  throughoutPairs: ThroughoutRow[];
}

/** The summary of one k: what the paper plots (Figures 3 and 7) and the CLI prints. */
export interface InstabilitySummary {
  k: number;
  bn: BatchNormPolicy;
  /** Initializations x pairs measured. */
  n: number;
  /** Instability by split ('test', 'train'). */
  instability: Record<string, MeanStd>;
  /** Mean endpoint error along the path's ends, by split. */
  endpointError: Record<string, MeanStd>;
  /** Accuracy of every trained copy (2 per pair) as trained, by split. */
  accuracy: Record<string, MeanStd>;
  /** L2 distance at T over all trainable parameters / over prunable kernels. */
  l2: MeanStd;
  l2Prunable: MeanStd;
  /** Density of the subnetwork (mean over initializations), null for dense networks. */
  density: number | null;
  /** Mean curve over inits x pairs: error by alpha and split. */
  curve: { alpha: number; split: string; error: number; loss: number }[];
  /** With `throughout`: mean instability and L2 distance at each checkpoint. */
  throughout?: {
    step: number;
    epoch: number;
    instability: Record<string, MeanStd>;
    l2: MeanStd;
    l2Prunable: MeanStd;
  }[];
}

/**
 * Builds the result tables from collected rows (column order fixed,
 * for stable printing); `throughout` tables only when asked for.
 */
export function tablesOf(
  rows: ExperimentRows,
  withThroughout: boolean,
): {
  table: ColumnTable;
  pairs: ColumnTable;
  distances: ColumnTable;
  throughout?: { table: ColumnTable; pairs: ColumnTable };
} {
  const key = ['k', 'init', 'initSeed', 'pair', 'run'];
  const curveColumns = [...key, 'alpha', 'split', 'error', 'loss'];
  const measureColumns = [
    'split',
    'instability',
    'maxError',
    'argmaxAlpha',
    'error1',
    'error2',
    'meanEndpointError',
    'maxLoss',
    'lossBarrier',
  ];
  const pairColumns = [
    ...key,
    'seed1',
    'seed2',
    ...measureColumns,
    'trainedError1',
    'trainedError2',
    'l2',
    'l2Prunable',
    'density',
  ];
  const out: ReturnType<typeof tablesOf> = {
    table: tableOf(rows.curves, curveColumns),
    pairs: tableOf(rows.pairs, pairColumns),
    distances: tableOf(rows.distances, [...key, 'step', 'epoch', 'l2', 'l2Prunable']),
  };
  if (withThroughout) {
    out.throughout = {
      table: tableOf(rows.throughoutCurves, [...key, 'step', 'epoch', 'alpha', 'split', 'error', 'loss']),
      pairs: tableOf(rows.throughoutPairs, [...key, 'step', 'epoch', ...measureColumns]),
    };
  }
  return out;
}

function tableOf<T extends object>(rows: readonly T[], columns: readonly string[]): ColumnTable {
  const data: Record<string, unknown[]> = {};
  for (const c of columns) data[c] = rows.map((r) => (r as Record<string, unknown>)[c]);
  return aq.table(data);
}

/** Summaries per k, in ascending k. */
export function summarize(
  rows: ExperimentRows,
  setup: { ks: readonly number[]; bn: BatchNormPolicy; splits: readonly string[] },
  densities: ReadonlyMap<number, number[]>,
  withThroughout: boolean,
): InstabilitySummary[] {
  return setup.ks.map((k) => {
    const pairs = rows.pairs.filter((r) => r.k === k);
    const bySplit = <T>(f: (split: string) => T): Record<string, T> =>
      Object.fromEntries(setup.splits.map((s) => [s, f(s)]));
    const ofSplit = (s: string) => pairs.filter((r) => r.split === s);
    const once = ofSplit(setup.splits[0]);
    const d = densities.get(k);
    const curves = rows.curves.filter((r) => r.k === k);
    const curve: InstabilitySummary['curve'] = [];
    for (const alpha of [...new Set(curves.map((r) => r.alpha))]) {
      for (const split of setup.splits) {
        const at = curves.filter((r) => r.alpha === alpha && r.split === split);
        curve.push({
          alpha,
          split,
          error: meanStd(at.map((r) => r.error)).mean,
          loss: meanStd(at.map((r) => r.loss)).mean,
        });
      }
    }
    const summary: InstabilitySummary = {
      k,
      bn: setup.bn,
      n: once.length,
      instability: bySplit((s) => meanStd(ofSplit(s).map((r) => r.instability))),
      endpointError: bySplit((s) => meanStd(ofSplit(s).map((r) => r.meanEndpointError))),
      accuracy: bySplit((s) => meanStd(ofSplit(s).flatMap((r) => [1 - r.trainedError1, 1 - r.trainedError2]))),
      l2: meanStd(once.map((r) => r.l2)),
      l2Prunable: meanStd(once.map((r) => r.l2Prunable)),
      density: d ? meanStd(d).mean : null,
      curve,
    };
    const during = rows.distances.filter((r) => r.k === k);
    const steps = [
      ...new Set(
        rows.throughoutPairs
          .filter((r) => r.k === k)
          .map((r) => r.step)
          .concat(during.map((r) => r.step)),
      ),
    ].sort((a, b) => a - b);
    if (withThroughout) {
      summary.throughout = steps.map((step) => {
        const at = rows.throughoutPairs.filter((r) => r.k === k && r.step === step);
        const dist = during.filter((r) => r.step === step);
        const splits = [...new Set(at.map((r) => r.split))];
        return {
          step,
          epoch: dist[0]?.epoch ?? at[0]?.epoch,
          instability: Object.fromEntries(
            splits.map((s) => [s, meanStd(at.filter((r) => r.split === s).map((r) => r.instability))]),
          ),
          l2: meanStd(dist.map((r) => r.l2)),
          l2Prunable: meanStd(dist.map((r) => r.l2Prunable)),
        };
      });
    }
    return summary;
  });
}

/** Fraction of the model's prunable weights that the masks keep (unmasked prunable tensors count as kept). */
export function density(model: Model, masks: ReadonlyMap<string, tf.Tensor>): number {
  let kept = 0;
  let total = 0;
  for (const info of model.info.values()) {
    if (!info.prunable) continue;
    const size = info.shape.reduce((a, b) => a * b, 1);
    total += size;
    const mask = masks.get(info.name);
    if (!mask) {
      kept += size;
      continue;
    }
    const s = tf.tidy(() => tf.sum(mask));
    kept += (s.dataSync() as Float32Array)[0];
    s.dispose();
  }
  return total > 0 ? kept / total : 1;
}
