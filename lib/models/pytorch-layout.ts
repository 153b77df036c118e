/**
 * A model's tensors under PyTorch's names and layouts, so weights travel both ways between
 * lmc-lab and an equivalent torch.nn.Module (same layer names) through safetensors files:
 *
 *   lmc-lab                         PyTorch
 *   <layer>.kernel  dense [in, out]  <layer>.weight [out, in]
 *   <layer>.kernel  conv [kh, kw, in, out]  <layer>.weight [out, in, kh, kw]
 *   <layer>.bias                    <layer>.bias
 *   <bn>.gamma / .beta              <bn>.weight / .bias
 *   <bn>.runningMean / .runningVariance  <bn>.running_mean / .running_var
 *
 * The mapping follows the roles the model declares (ParamInfo.role), never the layer's class.
 */
import { tf } from '../tf';
import { readSafetensorsFile, writeSafetensorsFile, type SafetensorsTensor } from '../io/safetensors';
import type { Model, ParamRole } from './types';

type Tensor = tf.Tensor;

/** The role of a buffer, from its name: BatchNorm running statistics are the only buffers. */
type BufferRole = 'bn-running-mean' | 'bn-running-variance';

const SUFFIXES: Record<ParamRole | BufferRole, [string, string]> = {
  'conv-kernel': ['.kernel', '.weight'],
  'dense-kernel': ['.kernel', '.weight'],
  bias: ['.bias', '.bias'],
  'bn-gamma': ['.gamma', '.weight'],
  'bn-beta': ['.beta', '.bias'],
  'bn-running-mean': ['.runningMean', '.running_mean'],
  'bn-running-variance': ['.runningVariance', '.running_var'],
};

/** Each tensor of `model` (parameters, then buffers) with its role. */
function tensorsWithRoles(model: Model): { name: string; role: ParamRole | BufferRole; variable: tf.Variable }[] {
  const out: { name: string; role: ParamRole | BufferRole; variable: tf.Variable }[] = [];
  for (const [name, variable] of model.params) out.push({ name, role: model.info.get(name)!.role, variable });
  for (const [name, variable] of model.buffers) {
    const role = name.endsWith('.runningMean')
      ? 'bn-running-mean'
      : name.endsWith('.runningVariance')
        ? 'bn-running-variance'
        : null;
    if (role === null)
      throw new Error(
        `${model.name}: buffer ${name} has no PyTorch counterpart (only BatchNorm running statistics do)`,
      );
    out.push({ name, role, variable });
  }
  return out;
}

/** PyTorch's name for the lmc-lab tensor `name` of role `role`. */
export function pytorchName(name: string, role: ParamRole | BufferRole): string {
  const [ours, theirs] = SUFFIXES[role];
  if (!name.endsWith(ours)) throw new Error(`tensor ${name} (${role}) does not end in ${ours}`);
  return name.slice(0, -ours.length) + theirs;
}

/** The permutation from lmc-lab's layout to PyTorch's (null: the same layout). */
function toPytorchPermutation(role: ParamRole | BufferRole): number[] | null {
  if (role === 'dense-kernel') return [1, 0];
  if (role === 'conv-kernel') return [3, 2, 0, 1];
  return null;
}

/** The permutation that undoes `p`. */
function inverse(p: readonly number[]): number[] {
  const out = new Array<number>(p.length);
  p.forEach((axis, i) => (out[axis] = i));
  return out;
}

/** The model's weights as a PyTorch state_dict (names and layouts); the caller disposes the tensors. */
export function pytorchStateDict(model: Model): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const { name, role, variable } of tensorsWithRoles(model)) {
    const permutation = toPytorchPermutation(role);
    out.set(pytorchName(name, role), permutation ? tf.transpose(variable, permutation) : variable.clone());
  }
  return out;
}

/**
 * Sets the model's weights from a PyTorch state_dict of float32 tensors: every tensor the model
 * has must be there with PyTorch's shape; extra entries (num_batches_tracked, optimizer state)
 * are ignored. Errors name the tensor, both shapes, and the source.
 */
export function loadPytorchStateDict(
  model: Model,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  source = 'the state_dict',
): void {
  const updates: { variable: tf.Variable; value: () => Tensor }[] = [];
  for (const { name, role, variable } of tensorsWithRoles(model)) {
    const theirs = pytorchName(name, role);
    const t = tensors.get(theirs);
    if (t === undefined) {
      throw new Error(
        `${source}: no tensor ${theirs} for ${model.name}'s ${name}; ` +
          `it holds ${[...tensors.keys()].slice(0, 12).join(', ')}`,
      );
    }
    if (t.dtype !== 'F32') throw new Error(`${source}: ${theirs} is ${t.dtype}; save float32 weights (model.float())`);
    const permutation = toPytorchPermutation(role);
    const expected = permutation ? permutation.map((axis) => variable.shape[axis]) : variable.shape;
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      throw new Error(
        `${source}: ${theirs} has shape [${t.shape.join(', ')}]; ${model.name}'s ${name} needs ` +
          `[${expected.join(', ')}] in PyTorch's layout`,
      );
    }
    updates.push({
      variable,
      value: () => {
        const raw = tf.tensor(t.data as Float32Array, t.shape as number[], 'float32');
        return permutation ? tf.transpose(raw, inverse(permutation)) : raw;
      },
    });
  }
  // Every tensor checked before any is assigned: a bad file leaves the model as it was.
  for (const { variable, value } of updates) tf.tidy(() => variable.assign(value()));
}

/** Writes the model's weights as a PyTorch state_dict in a safetensors file (torch's `load_file` reads it). */
export async function savePytorchWeights(file: string, model: Model): Promise<void> {
  const dict = pytorchStateDict(model);
  try {
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, t] of dict)
      tensors.set(name, { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array });
    await writeSafetensorsFile(file, tensors, { format: 'pt' });
  } finally {
    tf.dispose([...dict.values()]);
  }
}

/** Sets the model's weights from a safetensors file of a PyTorch state_dict (`safetensors.torch.save_file`). */
export async function loadPytorchWeights(file: string, model: Model): Promise<void> {
  const { tensors } = await readSafetensorsFile(file);
  loadPytorchStateDict(model, tensors, file);
}
