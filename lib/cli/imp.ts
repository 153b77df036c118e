/** `lmc imp`: iterative magnitude pruning with rewinding (and its baselines), printed as a table or one JSON object. */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, describeBackend } from '../backend';
import { presetNames } from '../train/config';
import { configFromFlags, CONFIG_OPTIONS, densityFlag, FLAG_LIMITS, OUTPUT_OPTIONS, wholeNumberFlag } from './config-flags';
import { datasetFor } from '../train/trainer';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint';
import { disposeState } from '../train/state';
import { imp, planImp, type ImpLevel, type ImpOptions } from '../prune/imp';
import { disposeMasks, maskCounts } from '../prune/mask';
import { terminalProgress, formatSeconds } from './progress';

/** The text of `lmc help imp`. */
export const IMP_HELP = `lmc imp --config <preset> [options]

Iterative magnitude pruning with rewinding to step k (Algorithm 2 of the paper): trains the
network to k once, then per level trains the subnetwork m ⊙ W_k from k to T, prunes 20% of the
remaining weights globally, and rewinds. Reports the test accuracy of every level.

Options:
  --config <preset>      one of: ${presetNames().join(', ')}
  --rewind <step>        rewinding step k, "0it" (default), "500it" or "1ep"
  --levels <N>           rounds of pruning (levels 0..N); default: the rounds that reach --density
  --density <D>          target density in (0, 1]; default the preset's (Table 1)
  --oneshot              prune once, straight to --density
  --baselines            also train random pruning and random reinitialization at every level
  --random-scope <s>     random pruning keeps the IMP mask's counts per tensor (layerwise, default) or in total (global)
  --mask <checkpoint>    start from the mask saved in <checkpoint>.safetensors (e.g. a level of an earlier run)
  --save <folder>        save W_k as <folder>/rewind and each level as <folder>/level-<n> (weights and mask)
  --scale <scale>        paper (Table 1 exactly), quick (short), smoke (seconds); default $LMC_SCALE or paper
  --set key=value        override a config field (repeatable), e.g. --set optimizerStateAtK=restore
  --json                 print one JSON object instead of text
  --quiet                no progress bars
`;

/** Runs `lmc imp` with its flags; resolves to the exit code. */
export async function impCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...CONFIG_OPTIONS,
      ...OUTPUT_OPTIONS,
      rewind: { type: 'string' },
      levels: { type: 'string' },
      density: { type: 'string' },
      oneshot: { type: 'boolean', default: false },
      baselines: { type: 'boolean', default: false },
      'random-scope': { type: 'string' },
      mask: { type: 'string' },
      save: { type: 'string' },
    },
  });
  const { preset, scale, config } = configFromFlags(values);
  const levels = values.levels === undefined ? undefined : wholeNumberFlag('--levels', values.levels, 0, FLAG_LIMITS.levels);
  const density = values.density === undefined ? undefined : densityFlag(values.density);
  if (levels !== undefined && density !== undefined && !values.oneshot) {
    throw new Error('--levels and --density both given: iterative pruning stops after --levels rounds, or at the round nearest --density; give one');
  }
  const randomScope = values['random-scope'] ?? 'layerwise';
  if (randomScope !== 'layerwise' && randomScope !== 'global') throw new Error(`--random-scope ${randomScope}: use layerwise or global`);

  const backend = await initBackend();
  const log = (line: string) => {
    if (!values.json) console.log(line);
  };
  log(describeBackend(backend));
  const dataset = datasetFor(config);
  log(`data: ${dataset.description} (${dataset.train.size} train / ${dataset.test.size} test) from ${dataset.source}`);

  const loaded = values.mask
    ? await loadCheckpoint(values.mask).catch((err: Error) => {
      throw new Error(`--mask ${err.message}`);
    })
    : null;
  if (loaded) disposeState(loaded.state);
  if (values.mask && !loaded?.masks) throw new Error(`--mask ${values.mask}: the checkpoint holds no masks; give a level saved by lmc imp --save`);

  const options: ImpOptions = {
    rewindTo: values.rewind ?? 0,
    levels,
    oneShot: values.oneshot,
    targetDensity: density ?? (levels === undefined || values.oneshot ? preset.targetDensity : undefined),
    baselines: values.baselines ? { randomPrune: randomScope } : false,
    initialMask: loaded?.masks,
    keepWeights: Boolean(values.save),
    dataset,
  };
  const plan = planImp(config, dataset, options);
  log(`IMP on ${config.model} (${values.config}, ${scale} scale): rewind to step ${plan.rewindTo} of ${plan.totalIterations}, ${plan.mode} pruning, ${plan.levels} round(s)${values.baselines ? ', with random pruning and random reinitialization' : ''}`);
  log(`optimizer state at k: ${config.optimizerStateAtK}${plan.rewindTo === 0 ? ' (no state exists at k = 0, so reset and restore are the same run)' : ''}`);
  log(header());

  if (values.save) fs.mkdirSync(values.save, { recursive: true });
  const rows: ReturnType<typeof levelReport>[] = [];
  const result = await imp(config, {
    ...options,
    callbacks: values.quiet || values.json ? undefined : (run) => [terminalProgress(run.level === null ? 'trunk' : `level ${run.level} ${run.kind}`)],
    onLevel: async (level) => {
      rows.push(levelReport(level));
      log(row(rows[rows.length - 1]));
      if (values.save && level.final) {
        await saveCheckpoint(path.join(values.save, `level-${level.level}`), { state: level.final, config, masks: level.mask });
      }
    },
  }).finally(() => loaded?.masks && disposeMasks(loaded.masks));
  try {
    if (values.save) await saveCheckpoint(path.join(values.save, 'rewind'), { state: result.rewind, config });
    const report = {
      preset: values.config,
      scale,
      config,
      backend: backend.name,
      device: backend.device,
      dataset: dataset.description,
      mode: result.mode,
      rewindTo: result.rewindTo,
      totalIterations: result.totalIterations,
      optimizerStateAtK: result.optimizerStateAtK,
      pruning: result.pruning,
      levels: rows,
      seconds: result.seconds,
    };
    if (values.json) console.log(JSON.stringify(report));
    else log(`${rows.length} level(s) in ${formatSeconds(result.seconds)}${values.save ? `; saved to ${values.save}` : ''}`);
    return 0;
  } finally {
    result.dispose();
  }
}

/** The JSON item of one level. */
function levelReport(level: ImpLevel) {
  return {
    level: level.level,
    density: level.density,
    testAccuracy: level.testAccuracy,
    testError: level.testError,
    randomPruneAccuracy: level.randomPrune?.testAccuracy ?? null,
    randomReinitAccuracy: level.randomReinit?.testAccuracy ?? null,
    remaining: Object.fromEntries(maskCounts(level.mask).map((c) => [c.name, c.remaining])),
    seconds: level.seconds + (level.randomPrune?.seconds ?? 0) + (level.randomReinit?.seconds ?? 0),
  };
}

function header(): string {
  return 'level  density   IMP      random   reinit   (test accuracy; seconds of training)';
}

function row(r: ReturnType<typeof levelReport>): string {
  const pct = (x: number | null) => (x === null ? '   -   ' : `${(100 * x).toFixed(2).padStart(6)}%`);
  return `${String(r.level).padStart(5)}  ${(100 * r.density).toFixed(2).padStart(6)}%  ${pct(r.testAccuracy)}  ${pct(r.randomPruneAccuracy)}  ${pct(r.randomReinitAccuracy)}  ${r.seconds.toFixed(1)}s`;
}
