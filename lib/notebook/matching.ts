/**
 * Matching (GUIDE §3, the paper's grey band): a subnetwork is matching when its mean test accuracy
 * is not below the dense network's mean minus one std over initializations (being better counts
 * too). That std needs two initializations. With one, the sampling std of an accuracy measured on
 * the test examples, √(p(1 − p)/n), is the only yardstick: the band says which one it holds.
 */
import { meanStd, type MeanStd } from '../stability/measure';

/** The dense network's accuracy over its initializations, and the tolerance matching allows below its mean. */
export interface DenseBand extends MeanStd {
  /** Whether the std over initializations can be estimated (two or more). */
  estimable: boolean;
  /** √(p(1 − p)/n) for the dense accuracy p measured on n test examples. */
  samplingStd: number;
  /** The std over initializations when estimable, else the sampling std. */
  tolerance: number;
}

/** The band of the dense accuracies (one per initialization), each measured on `testExamples` examples. */
export function denseBand(accuracies: readonly number[], testExamples: number): DenseBand {
  if (!(Number.isSafeInteger(testExamples) && testExamples > 0)) {
    throw new Error(
      `denseBand: testExamples = ${JSON.stringify(testExamples)}; give the number of test examples each accuracy was ` +
        'measured on (lmc.train.evaluationCount(data.test, config.evalExamples))',
    );
  }
  const d = meanStd(accuracies);
  const estimable = d.n >= 2;
  const samplingStd = Math.sqrt((d.mean * (1 - d.mean)) / testExamples);
  return { ...d, estimable, samplingStd, tolerance: estimable ? d.std : samplingStd };
}

/** Whether `accuracy` is matching: not below the band's mean minus its tolerance. */
export function isMatching(accuracy: number, band: DenseBand): boolean {
  return accuracy >= band.mean - band.tolerance;
}

/** A kind of subnetwork judged against the dense band, as notebook 04's matching table shows it. */
export interface MatchingRow {
  method: string;
  density: number;
  /** Initializations of the subnetwork, and its mean accuracy over them. */
  runs: number;
  accuracy: number;
  denseRuns: number;
  denseAccuracy: number;
  /** The dense std over initializations; null below two. */
  denseStd: number | null;
  /** Subnetwork minus dense accuracy, in percentage points. */
  gapPoints: number;
  /** The dense accuracy's sampling std on the test examples, in points (a yardstick only). */
  testSamplingStdPoints: number;
  /** Within one dense std; null when that std cannot be estimated. */
  matching: boolean | null;
  /** The answer in words: "matching (3 inits)", "not matching (3 inits)" or why there is none. */
  verdict: string;
}

/** The matching row of subnetwork `method` at `density` from its accuracy per initialization, against `band`. */
export function matchingRow(
  method: string,
  accuracies: readonly number[],
  band: DenseBand,
  density: number,
): MatchingRow {
  const s = meanStd(accuracies);
  const matches = isMatching(s.mean, band);
  return {
    method,
    density,
    runs: s.n,
    accuracy: s.mean,
    denseRuns: band.n,
    denseAccuracy: band.mean,
    denseStd: band.estimable ? band.std : null,
    gapPoints: 100 * (s.mean - band.mean),
    testSamplingStdPoints: 100 * band.samplingStd,
    matching: band.estimable ? matches : null,
    verdict: !band.estimable
      ? `std needs >= 2 inits; have ${band.n}`
      : `${matches ? 'matching' : 'not matching'} (${band.n} inits)`,
  };
}
