/**
 * Learning-rate schedules as pure functions of the iteration, so that training from step k
 * sees exactly the rate that an uninterrupted run would have used at k (rewinding rewinds the
 * schedule too).
 */

/** A resolved schedule: every step given in iterations. */
export interface ScheduleSpec {
  kind: 'constant' | 'step' | 'linear-decay';
  /** Base learning rate. */
  lr: number;
  /** 'step': multiply by `gamma` at each milestone (iterations). */
  milestones: readonly number[];
  gamma: number;
  /** Linear warmup length in iterations (0: none). */
  warmup: number;
  /** 'linear-decay': rate reached at the last iteration. */
  finalLr: number;
  /** Total iterations T ('linear-decay' ends here). */
  total: number;
}

/**
 * The learning rate of the update that takes iteration `step` to `step + 1`.
 * Warmup scales by (step + 1) / warmup, so the first update already moves (open_lth's factor
 * step / warmup makes update 0 a no-op) and the full rate is reached at the last warmup update.
 */
export function learningRateAt(spec: ScheduleSpec, step: number): number {
  let lr: number;
  switch (spec.kind) {
    case 'constant':
      lr = spec.lr;
      break;
    case 'step': {
      let drops = 0;
      for (const m of spec.milestones) if (step >= m) drops++;
      lr = spec.lr * Math.pow(spec.gamma, drops);
      break;
    }
    case 'linear-decay': {
      const t = spec.total <= 1 ? 1 : Math.min(1, step / (spec.total - 1));
      lr = spec.lr + (spec.finalLr - spec.lr) * t;
      break;
    }
  }
  if (spec.warmup > 0 && step < spec.warmup) lr *= (step + 1) / spec.warmup;
  return lr;
}
