// "mean ± std" text for one measure and per group of a table, and a sweep's key numbers per k.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as aq from 'arquero';
import { formatMeanStd, meanStdTable, sweepSummaryRows } from '../lib/notebook';
import { meanStd, type InstabilitySummary } from '../lib/stability';

test('formatMeanStd of [1, 2, 3] is "2.00 ± 0.82" (population std); a factor scales both; digits set decimals', () => {
  const m = meanStd([1, 2, 3]);
  assert.equal(formatMeanStd(m), '2.00 ± 0.82');
  assert.equal(formatMeanStd(m, 100, 1), '200.0 ± 81.6');
  assert.equal(formatMeanStd(meanStd([0.0123, 0.0125]), 100, 3), '1.240 ± 0.010');
});

test('formatMeanStd of a single run is the mean alone: one run has no spread to show', () => {
  assert.equal(formatMeanStd(meanStd([0.5]), 100), '50.00');
  assert.equal(formatMeanStd({ mean: 0.25, std: 0, n: 1 }, 1, 3), '0.250');
});

test('meanStdTable: a row per group in `by` order, its count n, each measure "mean ± std" in its unit', () => {
  const rows = aq.from([
    { split: 'train', instability: 0.01, error: 0.1 },
    { split: 'test', instability: 0.01, error: 0.2 },
    { split: 'test', instability: 0.02, error: 0.2 },
    { split: 'test', instability: 0.03, error: 0.2 },
  ]);
  const measures = { 'instability (pp)': ['instability', 100, 2], 'error (%)': ['error', 100, 1] } as const;
  const table = meanStdTable(rows, ['split'], measures);
  assert.deepEqual(table.columnNames(), ['split', 'n', 'instability (pp)', 'error (%)']);
  assert.deepEqual(table.objects(), [
    { split: 'test', n: 3, 'instability (pp)': '2.00 ± 0.82', 'error (%)': '20.0 ± 0.0' },
    { split: 'train', n: 1, 'instability (pp)': '1.00', 'error (%)': '10.0' },
  ]);
});

test('meanStdTable groups by several columns and orders by them', () => {
  const rows = aq.from([
    { k: 10, split: 'test', l2: 2 },
    { k: 0, split: 'test', l2: 4 },
    { k: 0, split: 'test', l2: 6 },
  ]);
  const table = meanStdTable(rows, ['k', 'split'], { L2: ['l2', 1, 3] });
  assert.deepEqual(table.objects(), [
    { k: 0, split: 'test', n: 2, L2: '5.000 ± 1.000' },
    { k: 10, split: 'test', n: 1, L2: '2.000' },
  ]);
});

/** The measures of one k over its runs. */
interface Runs {
  test: number[];
  train: number[];
  accuracy: number[];
  l2: number[];
}

/** A summary of one k with the given test and train instability, test accuracy and L2 distance. */
function summaryAt(k: number, values: Runs): InstabilitySummary {
  return {
    k,
    bn: 'interpolate',
    n: values.test.length,
    density: null,
    curve: [],
    instability: { test: meanStd(values.test), train: meanStd(values.train) },
    endpointError: {},
    accuracy: { test: meanStd(values.accuracy) },
    l2: meanStd(values.l2),
    l2Prunable: meanStd(values.l2),
  };
}

test('sweepSummaryRows: per k its runs, instability (points), test accuracy (%) and L2 at T as mean ± std', () => {
  const summary = [
    summaryAt(0, { test: [0.01, 0.03], train: [0.02, 0.02], accuracy: [0.9, 0.92], l2: [10, 12] }),
    summaryAt(500, { test: [0.004], train: [0.001], accuracy: [0.95], l2: [7.5] }),
  ];
  assert.deepEqual(sweepSummaryRows(summary), [
    {
      k: 0,
      runs: 2,
      'test instability (pp)': '2.00 ± 1.00',
      'train instability (pp)': '2.00 ± 0.00',
      'test accuracy (%)': '91.00 ± 1.00',
      'L2 at T': '11.000 ± 1.000',
    },
    {
      k: 500,
      runs: 1,
      'test instability (pp)': '0.40',
      'train instability (pp)': '0.10',
      'test accuracy (%)': '95.00',
      'L2 at T': '7.500',
    },
  ]);
  const inEpochs = sweepSummaryRows(summary, (k) => `${k / 250}ep`);
  assert.deepEqual(
    inEpochs.map((r) => r.k),
    ['0ep', '2ep'],
    'k in epochs when the label says so',
  );
});
