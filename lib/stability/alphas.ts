/**
 * The interpolation coefficients alpha of W(alpha) = alpha W1 + (1 - alpha) W2. The paper uses
 * 30 evenly spaced values in [0, 1], both ends included, so that the curve's ends are the two
 * trained networks themselves.
 */

/** Number of alphas the paper evaluates (Section 2). */
export const PAPER_ALPHA_COUNT = 30;

/** `count` evenly spaced values from `start` to `end`, both included (numpy's linspace). */
export function linspace(start: number, end: number, count: number): number[] {
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`linspace: count ${count} must be a whole number >= 1`);
  if (count === 1) return [start];
  // i / (count - 1) rather than a running sum, so the last value is `end` exactly, not end - 1ulp.
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? end : start + ((end - start) * i) / (count - 1)));
}

/**
 * The alphas to evaluate: a count (evenly spaced over [0, 1], ends included) or an explicit list
 * (kept in the given order, each checked to lie in [0, 1]). Default: 30, as in the paper.
 */
export function resolveAlphas(spec: number | readonly number[] = PAPER_ALPHA_COUNT): number[] {
  if (typeof spec === 'number') {
    if (!Number.isSafeInteger(spec) || spec < 2) {
      throw new Error(
        `alphas: ${spec} is not a count of alphas; ` +
          `give a whole number >= 2 (both ends are always included) or a list such as [0, 0.5, 1]`,
      );
    }
    return linspace(0, 1, spec);
  }
  if (spec.length === 0) throw new Error('alphas: the list is empty; give at least one alpha in [0, 1]');
  spec.forEach((a, i) => {
    if (typeof a !== 'number' || !(a >= 0 && a <= 1))
      throw new Error(
        `alphas[${i}] = ${a} is outside [0, 1]; instability interpolates between the two trained networks only`,
      );
  });
  return [...spec];
}
