// The stable k a notebook rewinds IMP to: the smallest k from which the mean instability stays
// below the threshold at every larger k measured (notebook 08).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stableK } from '../lib/notebook';
import type { InstabilitySummary } from '../lib/stability/tables';

/** A sweep summary with these mean test (and train) instabilities per k. */
const sweep = (test: Record<number, number>, train: Record<number, number> = {}): InstabilitySummary[] =>
  Object.entries(test).map(
    ([k, mean]) =>
      ({
        k: Number(k),
        instability: {
          test: { mean, std: 0, n: 1 },
          ...(train[Number(k)] === undefined ? {} : { train: { mean: train[Number(k)], std: 0, n: 1 } }),
        },
      }) as unknown as InstabilitySummary,
  );

test('stableK is the smallest k from which every measured k is below the threshold', () => {
  assert.equal(stableK(sweep({ 0: 0.3, 25: 0.15, 50: 0.01, 100: 0.005 }), { below: 0.02 }), 50);
  assert.equal(stableK(sweep({ 0: 0.001, 25: 0.004 }), { below: 0.02 }), 0);
});

test('stableK skips a k that dips below the threshold when a later k rises above it again', () => {
  assert.equal(stableK(sweep({ 0: 0.3, 25: 0.01, 50: 0.05, 100: 0.01 }), { below: 0.02 }), 100);
});

test('stableK is null when the largest k is not stable, and reads k in any order', () => {
  assert.equal(stableK(sweep({ 0: 0.3, 25: 0.01, 100: 0.2 }), { below: 0.02 }), null);
  assert.equal(stableK(sweep({ 100: 0.01, 0: 0.3, 50: 0.01 }).reverse(), { below: 0.02 }), 50);
  assert.equal(stableK([], { below: 0.02 }), null);
});

test('stableK reads the split asked for; the threshold is strict', () => {
  const s = sweep({ 0: 0.3, 50: 0.01 }, { 0: 0.01, 50: 0.01 });
  assert.equal(stableK(s, { below: 0.02, split: 'train' }), 0);
  assert.equal(stableK(sweep({ 0: 0.02 }), { below: 0.02 }), null);
});

test('stableK names a threshold outside (0, 1) and a split the sweep did not measure', () => {
  assert.throws(
    () => stableK(sweep({ 0: 0.1 }), { below: 2 }),
    /stableK: below = 2; give a fraction of error in \(0, 1\), e\.g\. 0\.02 for 2 percentage points/,
  );
  assert.throws(
    () => stableK(sweep({ 0: 0.1 }), { below: 0.02, split: 'train' }),
    /stableK: the sweep measured no train split at k = 0/,
  );
});
