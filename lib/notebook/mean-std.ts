/**
 * "mean ± std" as text, for one measure (a MeanStd of lib/stability) or per group of a table. The
 * std is the population std, as the figures' bands draw it; a single run has no spread to show,
 * so its text is the mean alone.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import type { MeanStd } from '../stability/measure';

/** "2.00 ± 0.82": mean and std times `factor` with `digits` decimals; the mean alone when n ≤ 1. */
export function formatMeanStd(m: MeanStd, factor = 1, digits = 2): string {
  const mean = (factor * m.mean).toFixed(digits);
  return m.n > 1 ? `${mean} ± ${(factor * m.std).toFixed(digits)}` : mean;
}

/** A measure of `meanStdTable`: its column, the factor to its unit (100: fraction to percent), its decimals. */
export type MeanStdMeasure = readonly [column: string, factor: number, digits: number];

/** The table grouped by `by`, ordered by it: per group its row count `n` and each measure's "mean ± std" text. */
export function meanStdTable(
  table: ColumnTable,
  by: readonly string[],
  measures: Readonly<Record<string, MeanStdMeasure>>,
): ColumnTable {
  const stats: Record<string, string> = { n: 'd => op.count()' };
  for (const [name, [column, factor]] of Object.entries(measures)) {
    const values = `d[${JSON.stringify(column)}]`;
    stats[`${name}:mean`] = `d => ${factor} * op.mean(${values})`;
    stats[`${name}:std`] = `d => ${factor} * op.stdevp(${values})`;
  }
  const text = Object.fromEntries(
    Object.entries(measures).map(([name, [, , digits]]) => [
      name,
      // The measures are scaled already (factor 1 here).
      aq.escape((d: Record<string, number>) => {
        const m = { mean: d[`${name}:mean`], std: d[`${name}:std`], n: d.n };
        return formatMeanStd(m, 1, digits);
      }),
    ]),
  );
  return table
    .groupby(...by)
    .rollup(stats)
    .derive(text)
    .select(...by, 'n', ...Object.keys(measures))
    .orderby(...by);
}
