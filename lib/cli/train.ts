/**
 * `lmc train`: one training run of a preset, printed as text or one JSON object. The run is a
 * store unit (the trunk of lib/experiments to step T, or to --steps): a finished run is answered
 * from the store ($LMC_HOME/store) without training, an interrupted one resumes from its last
 * checkpoint, and two processes asking for the same run at once train it once.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../train/config';
import {
  configFromFlags,
  CONFIG_OPTIONS,
  FLAG_LIMITS,
  OUTPUT_OPTIONS,
  wholeNumberFlag,
  reportHeader,
  startCommand,
} from './config-flags';
import { buildModel, type TrainCallback } from '../train/trainer';
import { evaluate } from '../train/evaluate';
import { parseStep, toIterations } from '../train/step';
import { disposeState, loadWeights } from '../train/state';
import { DEFAULT_CHECKPOINT_EVERY } from '../experiments/context';
import { TRUNK_STATE_FILE } from '../experiments/trunk';
import { experimentContext, trunk, type UnitEvent } from '../experiments';
import { decodeState } from '../train/state-bytes';
import { terminalProgress } from './progress';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** The options of `lmc train`: what it parses and what its help lists. */
export const TRAIN_OPTIONS = {
  ...CONFIG_OPTIONS,
  steps: {
    type: 'string',
    value: '<step>',
    description:
      'stop after this many iterations ("300it") or epochs ("2ep") instead of T ' +
      '(a separate unit: a short run never answers for a long one)',
  },
  'checkpoint-every': {
    type: 'string',
    value: '<n>',
    description: "iterations between resume checkpoints; not part of the run's identity",
    defaultText: String(DEFAULT_CHECKPOINT_EVERY),
  },
  ...OUTPUT_OPTIONS,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help train`. */
export const TRAIN_HELP = formatHelp({
  usage: ['lmc train --config <preset> [options]'],
  about: `Trains one network of Table 1 and reports its train and test error. The run is kept in the run
store ($LMC_HOME/store, default ~/.lmc/store) as a trunk unit to its last step: asking again for a
finished run answers from the store without training, an interrupted run resumes from its last
checkpoint, and two processes asking for the same run at once train it once.`,
  options: TRAIN_OPTIONS,
});

/** Runs `lmc train` with its flags; resolves to the exit code. */
export async function trainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: parserOptions(TRAIN_OPTIONS),
  });
  const { scale, config } = configFromFlags(values);
  let checkpointEvery = DEFAULT_CHECKPOINT_EVERY;
  if (values['checkpoint-every'] !== undefined) {
    checkpointEvery = wholeNumberFlag('--checkpoint-every', values['checkpoint-every'], 1, FLAG_LIMITS.steps);
  }

  const { backend, dataset, log } = await startCommand(config, values.json);
  // Progress lines that must not disturb --json's single stdout line go to stderr.
  const note = (line: string) => {
    if (values.json) console.error(`lmc train: ${line}`);
    else console.log(line);
  };
  const itersPerEpoch = Math.ceil(dataset.train.size / config.batchSize);
  const T = resolveConfig(config, dataset.train.size).totalIterations;
  const to = values.steps ? toIterations(parseStep(values.steps, '--steps'), itersPerEpoch) : T;
  if (!(Number.isSafeInteger(to) && to >= 0 && to <= T)) {
    throw new Error(
      `--steps ${values.steps} is step ${to}, outside training (0..${T} iterations of ${config.model}); ` +
        `give a step within [0, T] or raise --set training=...`,
    );
  }
  log(`training ${config.model} (${values.config}, ${scale} scale) for ${to} iterations, batch ${config.batchSize}`);

  let trained: { from: number; to: number } | null = null;
  const started = performance.now();
  let trainStarted = started;
  const markers: TrainCallback = {
    everySteps: checkpointEvery,
    onStep: (step) => {
      if (values.json) console.error(`lmc train: step ${step.step}/${step.endStep}`);
    },
  };
  const ctx = experimentContext({
    dataset,
    checkpointEvery,
    callbacks: (run) =>
      values.quiet || values.json ? [markers] : [terminalProgress(`${config.model} ${run.label}`), markers],
    onUnit: (event: UnitEvent) => {
      if (event.type === 'train') {
        trained = { from: event.from ?? 0, to: event.to ?? to };
        trainStarted = performance.now();
        const how =
          event.via === 'checkpoint'
            ? ` (resuming from its checkpoint at step ${event.from})`
            : event.via === 'shorter-trunk'
              ? ` (continuing a finished run at step ${event.from})`
              : '';
        note(`unit ${event.hash.slice(0, 12)}: training steps ${event.from ?? 0} -> ${event.to}${how}`);
      } else if (event.type === 'hit') {
        note(`unit ${event.hash.slice(0, 12)}: finished run found in the store ${ctx.store.root}; not training`);
      }
    },
  });
  const { unit, ref } = await trunk(ctx, config, to);
  const fromStore = !unit.computed;
  const done = performance.now();

  const bytes = await unit.readFile(TRUNK_STATE_FILE);
  const weightsSha256 = createHash('sha256').update(bytes).digest('hex');
  const state = decodeState(bytes, unit.path(TRUNK_STATE_FILE)).state;
  const { model } = buildModel(config, dataset);
  try {
    loadWeights(model, state.weights);
    const evalOptions = { batchSize: config.evalBatchSize, limit: config.evalExamples };
    const test = evaluate(model, dataset.test, evalOptions);
    const train = evaluate(model, dataset.train, evalOptions);
    const ran = trained as { from: number; to: number } | null;
    const trainSeconds = ran ? (done - trainStarted) / 1000 : 0;
    const report = {
      ...reportHeader(values.config, scale, config, backend, dataset),
      steps: to,
      testAccuracy: test.accuracy,
      testError: test.error,
      testLoss: test.loss,
      trainError: train.error,
      trainLoss: train.loss,
      /** Seconds this command spent getting the trained weights (training, waiting, or reading the store). */
      seconds: (done - started) / 1000,
      /** Iterations this process trained (0 when the run came from the store). */
      stepsTrained: ran ? ran.to - ran.from : 0,
      msPerStep: ran && ran.to > ran.from ? (1000 * trainSeconds) / (ran.to - ran.from) : null,
      fromStore,
      unit: ref.hash,
      store: ctx.store.root,
      /** sha256 of the unit's state file (weights and optimizer state at the last step). */
      weightsSha256,
    };
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      if (fromStore) log(`from the store: unit ${ref.hash.slice(0, 12)} (${unit.dir}); no training`);
      else log(`stored as unit ${ref.hash.slice(0, 12)} (${unit.dir})`);
      log(
        `test accuracy ${(100 * test.accuracy).toFixed(2)}%  (test error ${(100 * test.error).toFixed(2)}%, ` +
          `train error ${(100 * train.error).toFixed(2)}%) on ${dataset.description}`,
      );
      if (ran && report.msPerStep !== null)
        log(`${report.stepsTrained} steps in ${trainSeconds.toFixed(1)} s (${report.msPerStep.toFixed(1)} ms/step)`);
    }
    return 0;
  } finally {
    model.dispose();
    disposeState(state);
  }
}
