/**
 * Optimizers with explicit, named state, so that the state at step k can be saved in a
 * checkpoint and either restored or reset when training resumes from k (the policy is a config
 * field). Semantics follow PyTorch's torch.optim, which the paper's reference code used:
 *   SGD:  d = g + wd * w;  buf = momentum * buf + d;  w -= lr * buf
 *   Adam: L2 weight decay added to g; bias-corrected moments; w -= lr * m_hat / (sqrt(v_hat) + eps)
 * tf.train's optimizers keep their state private and fix the rate at construction; ours take
 * the rate per update and expose every slot.
 */
import { tf } from '../tf';

type Tensor = tf.Tensor;

/** Everything an optimizer carries between updates. Tensors are owned by the state. */
export interface OptimizerState {
  /** Number of updates applied so far (Adam's bias correction needs it). */
  updates: number;
  /** Slot tensors by '<param name>/<slot>', e.g. 'fc.kernel/momentum'. */
  slots: Map<string, Tensor>;
}

/** Hyperparameters of the optimizers lmc-lab offers. */
export interface OptimizerSpec {
  name: 'sgd' | 'adam';
  momentum: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** An optimizer bound to a parameter set. */
export interface Optimizer {
  readonly spec: OptimizerSpec;
  readonly state: OptimizerState;
  /**
   * Applies one update with rate `lr`. `grads` maps parameter names to gradients; where
   * `masks` has an entry the gradient is masked first and the weight is re-masked after, so a
   * pruned weight is exactly zero after every update, and its slots never move once they are
   * zero (lib/prune zeroes them when it restores a dense optimizer state under a mask).
   */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: Map<string, Tensor>,
    lr: number,
    masks?: ReadonlyMap<string, Tensor>,
  ): void;
  /** Frees the slot tensors. */
  dispose(): void;
}

/** Creates an optimizer; `state` (e.g. from a checkpoint) is copied, never aliased. */
export function createOptimizer(spec: OptimizerSpec, state?: OptimizerState): Optimizer {
  const own: OptimizerState = {
    updates: state?.updates ?? 0,
    slots: new Map([...(state?.slots ?? new Map<string, Tensor>())].map(([k, v]) => [k, tf.keep(v.clone())])),
  };
  const slot = (name: string, like: Tensor): Tensor => {
    let s = own.slots.get(name);
    if (!s) {
      s = tf.keep(tf.zerosLike(like));
      own.slots.set(name, s);
    }
    return s;
  };
  const replace = (name: string, value: Tensor): void => {
    own.slots.get(name)?.dispose();
    own.slots.set(name, tf.keep(value));
  };

  const apply: Optimizer['apply'] = (params, grads, lr, masks) => {
    own.updates += 1;
    const t = own.updates;
    tf.tidy(() => {
      for (const [name, variable] of params) {
        let g = grads.get(name);
        if (!g) continue;
        if (spec.weightDecay !== 0) g = tf.add(g, tf.mul(variable, spec.weightDecay));
        // Mask after weight decay, so a pruned weight's slots stay zero even if it was not zero yet.
        const mask = masks?.get(name);
        if (mask) g = tf.mul(g, mask);
        let update: Tensor;
        if (spec.name === 'sgd') {
          if (spec.momentum !== 0) {
            const buf = tf.add(tf.mul(slot(`${name}/momentum`, variable), spec.momentum), g);
            replace(`${name}/momentum`, buf);
            update = tf.mul(buf, lr);
          } else {
            update = tf.mul(g, lr);
          }
        } else {
          const m = tf.add(tf.mul(slot(`${name}/m`, variable), spec.beta1), tf.mul(g, 1 - spec.beta1));
          const v = tf.add(tf.mul(slot(`${name}/v`, variable), spec.beta2), tf.mul(tf.square(g), 1 - spec.beta2));
          replace(`${name}/m`, m);
          replace(`${name}/v`, v);
          const stepSize = lr / (1 - Math.pow(spec.beta1, t));
          const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(1 - Math.pow(spec.beta2, t))), spec.epsilon);
          update = tf.mul(tf.div(m, denom), stepSize);
        }
        let next = tf.sub(variable, update);
        if (mask) next = tf.mul(next, mask);
        variable.assign(next);
      }
    });
  };

  return {
    spec,
    state: own,
    apply,
    dispose: () => {
      for (const s of own.slots.values()) s.dispose();
      own.slots.clear();
    },
  };
}

/** A deep copy of an optimizer's state (for checkpoints taken mid-run). */
export function cloneOptimizerState(state: OptimizerState): OptimizerState {
  return { updates: state.updates, slots: new Map([...state.slots].map(([k, v]) => [k, tf.keep(v.clone())])) };
}

/** Frees an optimizer state's tensors. */
export function disposeOptimizerState(state: OptimizerState): void {
  for (const s of state.slots.values()) s.dispose();
}
