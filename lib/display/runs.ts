/**
 * Figures of a selection of instability pairs (the Runs panel draws these): error along the
 * linear path, instability against k and L2 distance against k, each pair one run of its k.
 */
import type { Figure } from './figure';
import { instabilityPlot, interpolationPlot, l2DistancePlot } from './plots';

/**
 * One finished pair as the figures read it: its row (a RunRow of lib/experiments/runs.ts has these
 * fields) and its curve. Declared here so that display depends on no layer above it.
 */
export interface PairCurveInput {
  run: {
    hash: string;
    k: number | null;
    instabilityTest: number | null;
    instabilityTrain: number | null;
    l2: number | null;
  };
  points: readonly { alpha: number; split: string; error: number }[];
}

/**
 * The three figures of the selected pairs; the path is one line
 * per split, or per k and split when the pairs start at several k.
 */
export function pairSelectionFigures(curves: readonly PairCurveInput[]): Figure[] {
  if (curves.length === 0) return [];
  const ks = new Set(curves.map((c) => c.run.k));
  const path = curves.flatMap((c) =>
    c.points.map((p) => ({ alpha: p.alpha, split: p.split, error: p.error, run: c.run.hash, k: c.run.k })),
  );
  const measured = curves.flatMap((c) => [
    ...(c.run.instabilityTest === null
      ? []
      : [{ k: c.run.k, instability: c.run.instabilityTest, split: 'test', run: c.run.hash }]),
    ...(c.run.instabilityTrain === null
      ? []
      : [{ k: c.run.k, instability: c.run.instabilityTrain, split: 'train', run: c.run.hash }]),
  ]);
  const distances = curves
    .filter((c) => c.run.l2 !== null)
    .map((c) => ({ k: c.run.k, distance: c.run.l2, run: c.run.hash }));
  const pairs = `${curves.length} pair${curves.length === 1 ? '' : 's'}`;
  return [
    interpolationPlot(path, { title: `Error along the path (${pairs})`, ...(ks.size > 1 ? { seriesBy: 'k' } : {}) }),
    instabilityPlot(measured, { title: `Instability against k (${pairs})`, xScale: 'even' }),
    l2DistancePlot(distances, { title: `L2 distance against k (${pairs})`, xScale: 'even' }),
  ];
}
