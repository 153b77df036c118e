/** Per-tensor sparsity of masks as an arquero table: what the notebooks print and plot. */
import * as aq from 'arquero';
import type { tf } from '../tf';
import { maskCounts } from './mask';

/**
 * One row per masked tensor, in parameter order: tensor, shape ("784x300"), total, remaining,
 * density (remaining / total) and sparsity (1 - density).
 */
export function sparsityTable(masks: ReadonlyMap<string, tf.Tensor>): aq.ColumnTable {
  const counts = maskCounts(masks);
  return aq.table({
    tensor: counts.map((c) => c.name),
    shape: counts.map((c) => c.shape.join('x')),
    total: counts.map((c) => c.total),
    remaining: counts.map((c) => c.remaining),
    density: counts.map((c) => c.remaining / c.total),
    sparsity: counts.map((c) => 1 - c.remaining / c.total),
  });
}
