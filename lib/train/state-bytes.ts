/**
 * Training states and masks as safetensors bytes, the form units keep them in (outputs and resume
 * checkpoints). Names follow train/checkpoint.ts: weights by model name, optimizer slots as
 * 'optimizer/<param>/<slot>', masks as 'mask/<param>', so Python reads unit files and checkpoints
 * alike. Encoding is deterministic (no timestamps), so equal states give equal bytes and a
 * recomputed unit has the same checksums as the cached one.
 */
import { tf } from '../tf';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../io/safetensors';
import type { TrainState } from './state';

type Tensor = tf.Tensor;

const STATE_FORMAT = 'lmc-lab state 1';
const OPTIMIZER_PREFIX = 'optimizer/';
const MASK_PREFIX = 'mask/';

function entryOf(name: string, t: Tensor): SafetensorsTensor {
  if (t.dtype === 'float32')
    return { dtype: 'F32', shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
  if (t.dtype === 'int32')
    return { dtype: 'I32', shape: [...t.shape], data: Int32Array.from(t.dataSync() as Int32Array) };
  throw new Error(`state bytes: tensor '${name}' is ${t.dtype}; units store float32 and int32 tensors only`);
}

/** The bytes of a state (weights, optimizer slots when present) and optional masks. */
export function encodeState(state: TrainState, masks?: ReadonlyMap<string, Tensor>): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of state.weights) tensors.set(name, entryOf(name, t));
  for (const [name, t] of state.optimizer?.slots ?? []) tensors.set(OPTIMIZER_PREFIX + name, entryOf(name, t));
  for (const [name, t] of masks ?? []) tensors.set(MASK_PREFIX + name, entryOf(name, t));
  const metadata: Record<string, string> = { format: 'pt', lmc: STATE_FORMAT, step: String(state.step) };
  if (state.optimizer) metadata.optimizerUpdates = String(state.optimizer.updates);
  return encodeSafetensors(tensors, metadata);
}

/** The bytes of masks alone. */
export function encodeMasks(masks: ReadonlyMap<string, Tensor>): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of masks) tensors.set(MASK_PREFIX + name, entryOf(name, t));
  return encodeSafetensors(tensors, { format: 'pt', lmc: STATE_FORMAT });
}

/** What `decodeState` returns; the caller owns every tensor. */
export interface DecodedState {
  state: TrainState;
  /** Masks stored alongside (empty when none). */
  masks: Map<string, Tensor>;
}

/** Reads bytes written by encodeState or encodeMasks; `source` names the file in errors. */
export function decodeState(bytes: Uint8Array, source: string): DecodedState {
  const decoded = decodeSafetensors(bytes, source);
  const meta = decoded.metadata ?? {};
  if (meta.lmc !== STATE_FORMAT)
    throw new Error(
      `${source}: not an lmc-lab state (metadata lmc = ${JSON.stringify(meta.lmc)}, expected "${STATE_FORMAT}")`,
    );
  const weights = new Map<string, Tensor>();
  const slots = new Map<string, Tensor>();
  const masks = new Map<string, Tensor>();
  for (const [name, e] of decoded.tensors) {
    if (e.dtype !== 'F32' && e.dtype !== 'I32')
      throw new Error(`${source}: tensor '${name}' has dtype ${e.dtype}; lmc-lab states hold F32 and I32 only`);
    const t = tf.keep(tf.tensor(e.data as Float32Array | Int32Array, e.shape, e.dtype === 'F32' ? 'float32' : 'int32'));
    if (name.startsWith(OPTIMIZER_PREFIX)) slots.set(name.slice(OPTIMIZER_PREFIX.length), t);
    else if (name.startsWith(MASK_PREFIX)) masks.set(name.slice(MASK_PREFIX.length), t);
    else weights.set(name, t);
  }
  const step = meta.step === undefined ? 0 : Number(meta.step);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`${source}: metadata step = ${JSON.stringify(meta.step)} is not a step`);
  const updates = meta.optimizerUpdates === undefined ? null : Number(meta.optimizerUpdates);
  return { state: { step, weights, optimizer: updates === null ? null : { updates, slots } }, masks };
}
