/**
 * Instability from an interpolation curve (Section 2): the highest error along the path minus
 * the mean of the two endpoint errors. The endpoints are the points at alpha = 0 (W2) and
 * alpha = 1 (W1), which every curve must contain.
 */
import type { InterpolationPoint } from './interpolate';

/** Instability of one curve on one split. */
export interface InstabilityMeasure {
  split: string;
  /** max over alpha of the error. */
  maxError: number;
  /** Alpha where the error is highest (the first such alpha). */
  argmaxAlpha: number;
  /** Error of W1 (alpha = 1) and W2 (alpha = 0). */
  error1: number;
  error2: number;
  /** mean(error1, error2). */
  meanEndpointError: number;
  /** maxError - meanEndpointError. */
  instability: number;
  /** The same quantities for the loss: max loss minus the mean endpoint loss. */
  maxLoss: number;
  lossBarrier: number;
}

/** Instability of the points of one split (alpha 0 and 1 must be among them). */
export function measureInstability(points: readonly InterpolationPoint[], split: string): InstabilityMeasure {
  const own = points.filter((p) => p.split === split);
  const at = (alpha: number): InterpolationPoint => {
    const p = own.find((q) => q.alpha === alpha);
    if (!p)
      throw new Error(
        `instability: the curve on '${split}' has no point at alpha = ${alpha}; ` +
          `instability needs both endpoints (alpha 0 and 1)`,
      );
    return p;
  };
  const one = at(1);
  const zero = at(0);
  let top = own[0];
  for (const p of own) if (p.error > top.error) top = p;
  const maxLoss = Math.max(...own.map((p) => p.loss));
  const meanEndpointError = (one.error + zero.error) / 2;
  return {
    split,
    maxError: top.error,
    argmaxAlpha: top.alpha,
    error1: one.error,
    error2: zero.error,
    meanEndpointError,
    instability: top.error - meanEndpointError,
    maxLoss,
    lossBarrier: maxLoss - (one.loss + zero.loss) / 2,
  };
}

/** Mean and standard deviation of a sample. */
export interface MeanStd {
  mean: number;
  /** Population standard deviation (numpy's np.std, ddof 0), as the display's plots draw bands. */
  std: number;
  n: number;
}

/** Mean and population standard deviation over the replicates (n is reported beside them). */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  return { mean, std: Math.sqrt(variance), n };
}
