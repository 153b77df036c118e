/**
 * The main job as units: LeNet-300-100 on MNIST, instability at a few k, and IMP with rewinding
 * to 3.5% density with both baselines. `quickstartPlan` says what runs at each scale;
 * `runQuickstart` computes (or finds) every unit and returns the result tables. The report and
 * the terminal live in cli/quickstart.ts.
 *
 * Budget at quick scale (2000 iterations per training): IMP is the cost, 16 levels plus 2
 * baselines per level that gets them. Rewinding to k = 0 needs no trunk (LeNet is stable at
 * initialization, Figure 3, so IMP finds matching subnetworks there, Figure 5), and baselines at
 * every third level (and the last) draw the same curves as at every level with 20 fewer
 * trainings: 26 trainings for IMP and 8 for instability (2 trunks, 6 copies), plus 3 curves of
 * 30 alphas on 10,000 digits. The README gives the measured wall-clock.
 */
import { type Scale, type TrainConfig } from '../train/config';
import { presetConfig } from '../train/presets';
import type { ExperimentContext, UnitCall } from './unit';
import { impRun, impRunCalls, type ImpRunOptions, type ImpRunResult } from './imp';
import { instabilitySweep, sweepCalls, type SweepOptions, type SweepResult } from './sweep';

/** What the quick start runs. */
export interface QuickstartPlan {
  /** The Table 1 preset it trains. */
  preset: string;
  scale: Scale;
  config: TrainConfig;
  instability: {
    /** Steps k the copies start from (iterations). */
    ks: number[];
    inits: number;
    pairs: number;
    alphas: number;
  };
  imp: {
    /** Rewinding step (iterations). */
    k: number;
    /** Rounds of 20% pruning: 15 reach 3.5%. */
    levels: number;
    /** Levels that train both baselines. */
    baselineLevels: number[];
  };
}

/** Overrides of the plan (CLI flags). */
export interface QuickstartOverrides {
  ks?: number[];
  inits?: number;
  pairs?: number;
  levels?: number;
  impK?: number;
  /** Baselines at every n-th level (1: every level). */
  baselineEvery?: number;
}

/** The plan at a scale: quick (the default), smoke (seconds, for tests) or paper (hours). */
export function quickstartPlan(scale: Scale = 'quick', overrides: QuickstartOverrides = {}): QuickstartPlan {
  const preset = 'lenet_mnist';
  const config = presetConfig(preset, scale);
  const defaults = {
    quick: { ks: [0, 100, 500], inits: 1, pairs: 1, levels: 15, every: 3 },
    // Smoke trains 40 iterations: k spans it, and three levels exercise pruning and both baselines.
    smoke: { ks: [0, 10, 20], inits: 1, pairs: 1, levels: 3, every: 1 },
    paper: { ks: [0, 100, 500, 2000], inits: 3, pairs: 3, levels: 15, every: 1 },
  }[scale];
  const levels = overrides.levels ?? defaults.levels;
  const every = overrides.baselineEvery ?? defaults.every;
  for (const [name, value, min] of [
    ['levels', levels, 0],
    ['baselineEvery', every, 1],
    ['inits', overrides.inits ?? 1, 1],
    ['pairs', overrides.pairs ?? 1, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min)
      throw new Error(`quickstart: ${name} = ${JSON.stringify(value)}; give a whole number >= ${min}`);
  }
  // The deepest level always gets its baselines: it is the density the quick start is about.
  const baselineLevels = [
    ...new Set([
      ...Array.from({ length: levels }, (_, i) => i + 1).filter((n) => n % every === 0),
      ...(levels > 0 ? [levels] : []),
    ]),
  ].sort((a, b) => a - b);
  return {
    preset,
    scale,
    config,
    instability: {
      ks: overrides.ks ?? defaults.ks,
      inits: overrides.inits ?? defaults.inits,
      pairs: overrides.pairs ?? defaults.pairs,
      alphas: 30,
    },
    imp: { k: overrides.impK ?? 0, levels, baselineLevels },
  };
}

/** The quick start's results. */
export interface QuickstartResults {
  plan: QuickstartPlan;
  instability: SweepResult;
  imp: ImpRunResult;
}

/**
 * Computes (or finds) every unit of the plan: the instability sweep and IMP with its baselines.
 * On worker threads the two run at once (IMP's chain of levels is serial by nature, and the
 * sweep's trainings fill the other cores); in one thread, one after the other.
 */
export async function runQuickstart(ctx: ExperimentContext, plan: QuickstartPlan): Promise<QuickstartResults> {
  const sweep = () => instabilitySweep(ctx, plan.config, quickstartSweep(plan));
  const imp = () => impRun(ctx, plan.config, quickstartImp(plan));
  if (ctx.workers > 1) {
    const [instability, run] = await Promise.all([sweep(), imp()]);
    return { plan, instability, imp: run };
  }
  const instability = await sweep();
  return { plan, instability, imp: await imp() };
}

function quickstartSweep(plan: QuickstartPlan): SweepOptions {
  return {
    k: plan.instability.ks,
    inits: plan.instability.inits,
    pairs: plan.instability.pairs,
    alphas: plan.instability.alphas,
  };
}

function quickstartImp(plan: QuickstartPlan): ImpRunOptions {
  return { k: plan.imp.k, levels: plan.imp.levels, baselines: { levels: plan.imp.baselineLevels } };
}

/**
 * Every call of `runQuickstart(ctx, plan)` known before anything trains: the sweep's pairs, IMP's levels and
 * baselines.
 */
export async function quickstartCalls(ctx: ExperimentContext, plan: QuickstartPlan): Promise<UnitCall[]> {
  return [
    ...(await sweepCalls(ctx, plan.config, quickstartSweep(plan))),
    ...(await impRunCalls(ctx, plan.config, quickstartImp(plan))),
  ];
}
