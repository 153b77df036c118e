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
import { readSafetensorsFile, writeSafetensorsFile, type SafetensorsTensor } from '../io/safetensors';
import { writeFileAtomic } from '../io/atomic-write';
import { canonicalConfig, type TrainConfig } from './config';
import type { TrainState } from './state';

type Tensor = tf.Tensor;

const FORMAT = 'lmc-lab checkpoint 1';
const OPTIMIZER_PREFIX = 'optimizer/';
const MASK_PREFIX = 'mask/';

/** What a checkpoint holds besides the state. */
export interface CheckpointContents {
  state: TrainState;
  config: TrainConfig;
  /** Pruning masks by parameter name, when the run was masked. */
  masks?: Map<string, Tensor>;
}

function toEntry(t: Tensor): SafetensorsTensor {
  if (t.dtype === 'int32') return { dtype: 'I32', shape: [...t.shape], data: Int32Array.from(t.dataSync() as Int32Array) };
  if (t.dtype !== 'float32') throw new Error(`checkpoint: cannot save a ${t.dtype} tensor; only float32 and int32 are stored`);
  return { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

function fromEntry(name: string, e: SafetensorsTensor, file: string): Tensor {
  if (e.dtype === 'F32') return tf.tensor(e.data, e.shape, 'float32');
  if (e.dtype === 'I32') return tf.tensor(e.data, e.shape, 'int32');
  throw new Error(`${file}: tensor '${name}' has dtype ${e.dtype}; lmc-lab checkpoints hold F32 and I32 only`);
}

/** Saves a checkpoint to `<path>.safetensors` and `<path>.json`, each written atomically. */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  const { state, config, masks } = contents;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of state.weights) tensors.set(name, toEntry(t));
  for (const [name, t] of state.optimizer?.slots ?? []) tensors.set(OPTIMIZER_PREFIX + name, toEntry(t));
  for (const [name, t] of masks ?? []) tensors.set(MASK_PREFIX + name, toEntry(t));
  const sidecar = {
    format: FORMAT,
    step: state.step,
    optimizerUpdates: state.optimizer?.updates ?? null,
    config,
    canonicalConfig: canonicalConfig(config),
    layout: 'tfjs: NHWC; conv kernels [kh, kw, in, out]; dense kernels [in, out]',
  };
  await writeSafetensorsFile(`${path}.safetensors`, tensors, { format: 'pt', lmc: FORMAT, step: String(state.step) });
  await writeFileAtomic(`${path}.json`, new TextEncoder().encode(JSON.stringify(sidecar, null, 2) + '\n'));
}

/** Loads a checkpoint written by `saveCheckpoint`; errors name the file and the problem. */
export async function loadCheckpoint(path: string): Promise<CheckpointContents> {
  const jsonFile = `${path}.json`;
  let sidecar: { format?: string; step?: number; optimizerUpdates?: number | null; config?: TrainConfig };
  try {
    sidecar = JSON.parse(await fsp.readFile(jsonFile, 'utf8'));
  } catch (err) {
    throw new Error(`${jsonFile}: cannot read the checkpoint sidecar (${(err as Error).message})`);
  }
  if (sidecar.format !== FORMAT) throw new Error(`${jsonFile}: format is ${JSON.stringify(sidecar.format)}, expected "${FORMAT}"`);
  if (!Number.isSafeInteger(sidecar.step) || sidecar.config === undefined) {
    throw new Error(`${jsonFile}: missing "step" or "config"; the sidecar is incomplete`);
  }
  const file = `${path}.safetensors`;
  const decoded = await readSafetensorsFile(file);
  const weights = new Map<string, Tensor>();
  const slots = new Map<string, Tensor>();
  const masks = new Map<string, Tensor>();
  for (const [name, entry] of decoded.tensors) {
    if (name.startsWith(OPTIMIZER_PREFIX)) slots.set(name.slice(OPTIMIZER_PREFIX.length), fromEntry(name, entry, file));
    else if (name.startsWith(MASK_PREFIX)) masks.set(name.slice(MASK_PREFIX.length), fromEntry(name, entry, file));
    else weights.set(name, fromEntry(name, entry, file));
  }
  const optimizer = sidecar.optimizerUpdates === null || sidecar.optimizerUpdates === undefined
    ? null
    : { updates: sidecar.optimizerUpdates, slots };
  return {
    state: { step: sidecar.step!, weights, optimizer },
    config: sidecar.config,
    masks: masks.size > 0 ? masks : undefined,
  };
}
