// Matching against the dense band: the std over initializations when there are two or more, else
// no verdict (notebook 04) or the sampling std as the tolerance (notebook 06's selection rule).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { denseBand, isMatching, matchingRow } from '../lib/notebook';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

test('denseBand of two or more initializations is estimable: its tolerance is their population std', () => {
  const band = denseBand([0.9, 0.92, 0.94], 1000);
  assert.equal(band.n, 3);
  assert.equal(band.estimable, true);
  close(band.mean, 0.92);
  close(band.std, Math.sqrt(0.0008 / 3));
  close(band.tolerance, band.std);
  close(band.samplingStd, Math.sqrt((0.92 * 0.08) / 1000));
});

test('denseBand of one initialization is not estimable: its tolerance is the sampling std √(p(1 − p)/n)', () => {
  const band = denseBand([0.9], 100);
  assert.equal(band.estimable, false);
  assert.equal(band.std, 0);
  close(band.tolerance, 0.03, 1e-12);
});

test('denseBand names testExamples, its value and where to get it when it is not a positive whole number', () => {
  const fix = /denseBand: testExamples = 0; give the number of test examples .*\(lmc\.train\.evaluationCount/;
  assert.throws(() => denseBand([0.9], 0), fix);
  assert.throws(() => denseBand([0.9], 2.5), /testExamples = 2\.5/);
});

test('isMatching: not below the dense mean minus the tolerance; being better counts too', () => {
  const band = denseBand([0.9], 100); // tolerance 0.03
  assert.equal(isMatching(0.87, band), true, 'exactly one tolerance below');
  assert.equal(isMatching(0.869, band), false);
  assert.equal(isMatching(0.99, band), true);
});

test('matchingRow with an estimable dense std gives a verdict: matching within one std, not matching below it', () => {
  const band = denseBand([0.75, 0.875], 2000); // mean 0.8125, std 0.0625: matching from 0.75 up
  const within = matchingRow('imp', [0.75, 0.8125], band, 0.035);
  assert.deepEqual(
    { ...within, testSamplingStdPoints: 0 },
    {
      method: 'imp',
      density: 0.035,
      runs: 2,
      accuracy: 0.78125,
      denseRuns: 2,
      denseAccuracy: 0.8125,
      denseStd: 0.0625,
      gapPoints: -3.125,
      testSamplingStdPoints: 0,
      matching: true,
      verdict: 'matching (2 inits)',
    },
  );
  close(within.testSamplingStdPoints, 100 * Math.sqrt((0.8125 * 0.1875) / 2000), 1e-9);
  const below = matchingRow('random-prune', [0.625], band, 0.035);
  assert.equal(below.matching, false);
  assert.equal(below.verdict, 'not matching (2 inits)');
});

test('matchingRow with one dense initialization gives no verdict and says why, whatever the accuracy', () => {
  const band = denseBand([0.9], 2000);
  for (const accuracy of [0.95, 0.5]) {
    const row = matchingRow('imp', [accuracy], band, 0.035);
    assert.equal(row.matching, null);
    assert.equal(row.denseStd, null);
    assert.equal(row.verdict, 'std needs >= 2 inits; have 1');
  }
});
