/**
 * Table 1 of the paper rebuilt from the library's presets: each network's training length, batch,
 * optimizer, learning rate and schedule, warmup, the density the paper studies and how it prunes,
 * with whether the row's dataset is on this machine.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { PRESETS } from '../train/presets';
import type { Scale, TrainConfig } from '../train/config';
import { presetData } from './preset-data';

/** A learning-rate schedule in words: "×0.1 at 32000it, 48000it", "linear decay to 0.005" or "constant". */
export function scheduleText(c: Partial<TrainConfig>): string {
  if (c.schedule === 'step') return `×${c.gamma} at ${(c.milestones ?? []).join(', ')}`;
  return c.schedule === 'linear-decay' ? `linear decay to ${c.finalLr}` : 'constant';
}

/** One row of Table 1. */
export interface Table1Row {
  network: string;
  model: string | undefined;
  dataset: string | undefined;
  training: string | undefined;
  batch: number | undefined;
  /** The paper's test accuracy, "98.3 ± 0.1%". */
  paperAccuracy: string;
  /** "sgd (momentum 0.9, wd 0.0001)" or "adam". */
  optimizer: string;
  lr: number | undefined;
  schedule: string;
  warmup: string;
  /** The density the paper studies (fraction of prunable weights kept). */
  density: number;
  style: 'iterative' | 'one-shot';
  /** Whether the row's dataset is on this machine (`presetData(name, scale).ok`), and which data it is. */
  dataHere: boolean;
  data: string;
}

/** Table 1 from the presets (the paper's hyperparameters), one row each; `scale` only picks the data looked for. */
export function table1FromPresets(scale: Scale): ColumnTable {
  return aq.from(
    [...PRESETS.values()].map((p): Table1Row => {
      const c = p.config;
      const here = presetData(p.name, scale);
      return {
        network: p.title,
        model: c.model,
        dataset: c.dataset,
        training: c.training,
        batch: c.batchSize,
        paperAccuracy: `${p.paperAccuracy[0]} ± ${p.paperAccuracy[1]}%`,
        optimizer: c.optimizer === 'sgd' ? `sgd (momentum ${c.momentum}, wd ${c.weightDecay})` : `${c.optimizer}`,
        lr: c.lr,
        schedule: scheduleText(c),
        warmup: c.warmup ?? '0it',
        density: p.targetDensity,
        style: p.pruning,
        dataHere: here.ok,
        data: here.ok ? here.dataset.description : 'absent',
      };
    }),
  );
}
