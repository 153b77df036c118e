/**
 * Checkpoints: `<path>.safetensors` holds the tensors (readable by Python's safetensors and
 * PyTorch), `<path>.json` the full config and step. Tensors keep TensorFlow.js layouts (NHWC
 * activations, conv kernels [kh, kw, in, out], dense kernels [in, out]); the sidecar says so.
 *
 * Tensor names: weights by their model name ('fc.kernel', 'layer1.0.bn1.runningMean'),
 * optimizer slots as 'optimizer/<param>/<slot>', masks as 'mask/<param>'.
 * Saving is deterministic (no timestamps), so load -> save reproduces both files bit for bit.
 */
import * as fsp from 'node:fs/promises';
import { tf } from '../tf';
import { writeFileAtomic } from '../io/atomic-write';
import { canonicalConfig, type TrainConfig } from './config';
import type { TrainState } from './state';
import { decodeState, encodeState } from './state-bytes';

type Tensor = tf.Tensor;

const FORMAT = 'lmc-lab checkpoint 1';

/** What a checkpoint holds besides the state. */
export interface CheckpointContents {
  state: TrainState;
  config: TrainConfig;
  /** Pruning masks by parameter name, when the run was masked. */
  masks?: Map<string, Tensor>;
}

/** Saves a checkpoint to `<path>.safetensors` and `<path>.json`, each written atomically. */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  const { state, config, masks } = contents;
  const sidecar = {
    format: FORMAT,
    step: state.step,
    optimizerUpdates: state.optimizer?.updates ?? null,
    config,
    canonicalConfig: canonicalConfig(config),
    layout: 'tfjs: NHWC; conv kernels [kh, kw, in, out]; dense kernels [in, out]',
  };
  await writeFileAtomic(`${path}.safetensors`, encodeState(state, masks));
  await writeFileAtomic(`${path}.json`, new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + '\n'));
}

/**
 * Loads a checkpoint written by `saveCheckpoint`, named without extension or by either of its two
 * files; errors name the file and the problem.
 */
export async function loadCheckpoint(name: string): Promise<CheckpointContents> {
  const path = name.replace(/\.(safetensors|json)$/, '');
  const jsonFile = `${path}.json`;
  let sidecar: { format?: string; step?: number; optimizerUpdates?: number | null; config?: TrainConfig };
  let text: string;
  try {
    text = await fsp.readFile(jsonFile, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new Error(
        `${name}: not a checkpoint of lmc-lab: ${jsonFile} is missing (a checkpoint is the pair ` +
          `<name>.safetensors and <name>.json that saveCheckpoint and \`lmc imp --save\` write)`,
      );
    }
    throw new Error(`${jsonFile}: cannot read the checkpoint sidecar (${(err as Error).message})`);
  }
  try {
    sidecar = JSON.parse(text);
  } catch (err) {
    throw new Error(`${jsonFile}: the checkpoint sidecar is not JSON (${(err as Error).message})`);
  }
  if (sidecar.format !== FORMAT)
    throw new Error(`${jsonFile}: format is ${JSON.stringify(sidecar.format)}, expected "${FORMAT}"`);
  if (!Number.isSafeInteger(sidecar.step) || sidecar.config === undefined) {
    throw new Error(`${jsonFile}: missing "step" or "config"; the sidecar is incomplete`);
  }
  const file = `${path}.safetensors`;
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    throw new Error(`${file}: cannot read the checkpoint tensors (${(err as Error).message})`);
  }
  const { state, masks } = decodeState(bytes, file);
  if (state.step !== sidecar.step) {
    throw new Error(
      `${file}: holds step ${state.step} but ${jsonFile} says step ${sidecar.step}; ` +
        `the two files are from different saves`,
    );
  }
  return { state, config: sidecar.config, masks: masks.size > 0 ? masks : undefined };
}
