/**
 * The key numbers of an instability sweep, one row per k, as the notebooks print them: test and
 * train instability in percentage points, test accuracy in percent and the L2 distance at T,
 * each "mean ± std" over the sweep's initializations × pairs.
 */
import type { InstabilitySummary } from '../stability/tables';
import { formatMeanStd } from './mean-std';

/** One k of a sweep: its label, the runs averaged and the measures as "mean ± std" text. */
export interface SweepSummaryRow<K extends number | string = number> {
  k: K;
  runs: number;
  'test instability (pp)': string;
  'train instability (pp)': string;
  'test accuracy (%)': string;
  'L2 at T': string;
}

/** The rows of a sweep's summary, k written by `kLabel` (default: the iteration number). */
export function sweepSummaryRows<K extends number | string = number>(
  summary: readonly InstabilitySummary[],
  kLabel: (k: number) => K = (k) => k as K,
): SweepSummaryRow<K>[] {
  return summary.map((s) => ({
    k: kLabel(s.k),
    runs: s.n,
    'test instability (pp)': formatMeanStd(s.instability.test, 100),
    'train instability (pp)': formatMeanStd(s.instability.train, 100),
    'test accuracy (%)': formatMeanStd(s.accuracy.test, 100),
    'L2 at T': formatMeanStd(s.l2, 1, 3),
  }));
}
