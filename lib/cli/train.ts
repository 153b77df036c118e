/** `lmc train`: one training run of a preset, printed as text or one JSON object. */
import { parseArgs } from 'node:util';
import { initBackend, describeBackend } from '../backend';
import { presetConfig, applySettings, presetNames, SCALES, type Scale } from '../train/config';
import { getPreset } from '../train/presets';
import { trainFrom, datasetFor } from '../train/trainer';
import { evaluate } from '../train/evaluate';
import { parseStep, toIterations } from '../train/step';
import { terminalProgress } from './progress';

export const TRAIN_HELP = `lmc train --config <preset> [options]

Trains one network of Table 1 and reports its train and test error.

Options:
  --config <preset>      one of: ${presetNames().join(', ')}
  --scale <scale>        paper (Table 1 exactly), quick (short), smoke (seconds); default $LMC_SCALE or paper
  --set key=value        override a config field (repeatable), e.g. --set lr=0.01 --set dataOrderSeed=3
  --steps <step>         stop after this many iterations ("300it") or epochs ("2ep") instead of T
  --json                 print one JSON object instead of text
  --quiet                no progress bar
`;

/** Runs `lmc train` with its flags; resolves to the exit code. */
export async function trainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      config: { type: 'string' },
      scale: { type: 'string' },
      set: { type: 'string', multiple: true },
      steps: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (!values.config) throw new Error(`--config is required; choose one of ${presetNames().join(', ')}`);
  const scale = (values.scale ?? process.env.LMC_SCALE ?? 'paper') as Scale;
  if (!SCALES.includes(scale)) throw new Error(`--scale ${scale}: use one of ${SCALES.join(', ')}`);
  getPreset(values.config);
  const config = applySettings(presetConfig(values.config, scale), values.set ?? []);

  const backend = await initBackend();
  const log = (line: string) => {
    if (!values.json) console.log(line);
  };
  log(describeBackend(backend));

  const dataset = datasetFor(config);
  log(`data: ${dataset.description} (${dataset.train.size} train / ${dataset.test.size} test) from ${dataset.source}`);
  const itersPerEpoch = Math.ceil(dataset.train.size / config.batchSize);
  const to = values.steps ? toIterations(parseStep(values.steps, '--steps'), itersPerEpoch) : undefined;
  log(`training ${config.model} (${values.config}, ${scale} scale) for ${to ?? toIterations(config.training, itersPerEpoch)} iterations, batch ${config.batchSize}`);

  const progress = values.quiet || values.json ? [] : [terminalProgress(config.model)];
  const result = await trainFrom(config, { dataset, to, callbacks: progress });
  try {
    const evalOptions = { batchSize: config.evalBatchSize, limit: config.evalExamples };
    const test = evaluate(result.model, dataset.test, evalOptions);
    const train = evaluate(result.model, dataset.train, evalOptions);
    const report = {
      preset: values.config,
      scale,
      config,
      backend: backend.name,
      device: backend.device,
      dataset: dataset.description,
      steps: result.step,
      testAccuracy: test.accuracy,
      testError: test.error,
      testLoss: test.loss,
      trainError: train.error,
      trainLoss: train.loss,
      seconds: result.seconds,
      msPerStep: (1000 * result.seconds) / Math.max(1, result.step - result.startStep),
    };
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      log(`test accuracy ${(100 * test.accuracy).toFixed(2)}%  (test error ${(100 * test.error).toFixed(2)}%, train error ${(100 * train.error).toFixed(2)}%) on ${dataset.description}`);
      log(`${result.step} steps in ${result.seconds.toFixed(1)} s (${report.msPerStep.toFixed(1)} ms/step)`);
    }
    return 0;
  } finally {
    result.dispose();
  }
}
