/**
 * L2 distance between two networks (Appendices D and E of the paper): sqrt of the summed squared
 * differences over a set of tensors. Two scopes: 'all' is every trainable parameter (kernels,
 * biases, BatchNorm gamma and beta; never the running statistics, which are not parameters);
 * 'prunable' is the conv and dense kernels only, the tensors pruning acts on.
 */
import { tf } from '../tf';
import type { Model } from '../models/types';

type Tensor = tf.Tensor;

/** Which tensors a distance covers. */
export type DistanceScope = 'all' | 'prunable';

/** Names of the parameters in `scope`, in the model's order. */
export function parameterNames(model: Model, scope: DistanceScope): string[] {
  if (scope !== 'all' && scope !== 'prunable') throw new Error(`distance: scope "${scope}" is not 'all' or 'prunable'`);
  return [...model.info.values()].filter((i) => scope === 'all' || i.prunable).map((i) => i.name);
}

/** sqrt(sum over `names` of ||a[name] - b[name]||^2); sums per tensor in float32, across tensors in float64. */
export function l2Distance(
  a: ReadonlyMap<string, Tensor>,
  b: ReadonlyMap<string, Tensor>,
  names: readonly string[],
): number {
  let total = 0;
  for (const name of names) {
    const x = a.get(name);
    const y = b.get(name);
    if (!x || !y) throw new Error(`distance: '${name}' is missing from the ${x ? 'second' : 'first'} network`);
    if (x.shape.join('x') !== y.shape.join('x'))
      throw new Error(
        `distance: '${name}' has shapes [${x.shape}] and [${y.shape}]; the networks differ in architecture`,
      );
    const s = tf.tidy(() => tf.sum(tf.square(tf.sub(x, y))));
    total += (s.dataSync() as Float32Array)[0];
    s.dispose();
  }
  return Math.sqrt(total);
}

/** Both distances between two networks of `model`'s architecture. */
export function l2Distances(
  model: Model,
  a: ReadonlyMap<string, Tensor>,
  b: ReadonlyMap<string, Tensor>,
): { l2: number; l2Prunable: number } {
  return {
    l2: l2Distance(a, b, parameterNames(model, 'all')),
    l2Prunable: l2Distance(a, b, parameterNames(model, 'prunable')),
  };
}
