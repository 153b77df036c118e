/**
 * Table 1's parameter counts recomputed from the models the library builds. Table 1 prints counts
 * truncated (266,610 is "266K"), and for ResNet-20 it counts the BatchNorm running means and
 * variances too (272,474 trainable + 1,568 statistics = 274,042, PyTorch's state_dict size); for
 * the other networks the printed figure is the trainable count.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { countParameters, countState, createModel, modelNames } from '../models/registry';

/** What a printed count counts. */
export type CountConvention = 'trainable' | 'trainable + BN statistics';

/** Table 1's printed count per model, and what it counts. */
export const TABLE1_PARAMETER_COUNTS: Readonly<Record<string, { printed: string; counts: CountConvention }>> = {
  lenet_300_100: { printed: '266K', counts: 'trainable' },
  resnet20: { printed: '274K', counts: 'trainable + BN statistics' },
  vgg16: { printed: '14.7M', counts: 'trainable' },
  resnet50: { printed: '25.5M', counts: 'trainable' },
  inception_v3: { printed: '27.1M', counts: 'trainable' },
};

/** A count as Table 1 prints it, truncated rather than rounded: 266,610 -> "266K", 25,557,032 -> "25.5M". */
export function table1Count(n: number): string {
  return n >= 1e6 ? `${Math.floor(n / 1e5) / 10}M` : `${Math.floor(n / 1e3)}K`;
}

/** One model's counts beside Table 1's figure. */
export interface ParameterCountRow {
  model: string;
  trainable: number;
  withBnStatistics: number;
  convention: CountConvention;
  /** The count under `convention`, as Table 1 would print it. */
  computed: string;
  printed: string;
  matches: boolean;
  /** Seconds to build the model (its initial weights are drawn in JavaScript). */
  buildSeconds: number;
}

/** A table of `models` (default: those in Table 1), each built, counted and freed, beside its printed count. */
export function parameterCounts(
  models: readonly string[] = modelNames().filter((m) => m in TABLE1_PARAMETER_COUNTS),
): ColumnTable {
  return aq.from(
    models.map((model): ParameterCountRow => {
      const table1 = TABLE1_PARAMETER_COUNTS[model];
      if (!table1) {
        const known = Object.keys(TABLE1_PARAMETER_COUNTS).join(', ');
        throw new Error(`parameterCounts: model "${model}" is not in Table 1; give models among ${known}`);
      }
      const started = Date.now();
      const m = createModel(model, { seed: 0 });
      const buildSeconds = (Date.now() - started) / 1000;
      try {
        const trainable = countParameters(m);
        const withBnStatistics = countState(m);
        const computed = table1Count(table1.counts === 'trainable' ? trainable : withBnStatistics);
        return {
          model,
          trainable,
          withBnStatistics,
          convention: table1.counts,
          computed,
          printed: table1.printed,
          matches: computed === table1.printed,
          buildSeconds,
        };
      } finally {
        m.dispose();
      }
    }),
  );
}
