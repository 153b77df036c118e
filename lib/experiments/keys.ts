/**
 * The identity of each unit: its config in the store. Every unit config holds `train` (the
 * canonical training config of lib/train, default-valued fields left out), `data` (the dataset's
 * content fingerprint) and the unit's own fields, again with defaults left out, so that adding an
 * option later never renames an existing unit. A unit that consumes another unit's output names
 * it by hash (a mask made by an IMP level), so identities chain like a Merkle tree.
 */
import type { Json } from '../store';
import { canonicalConfig, type TrainConfig, resolveConfig } from '../train/config';
import { parseStep, toIterations } from '../train/step';
import { iterationsPerEpoch } from '../data/order';
import type { Dataset } from '../data/types';

/** The canonical training config as a JSON object (what `train` holds in every unit config). */
export function trainKey(config: TrainConfig): { [key: string]: Json } {
  return JSON.parse(canonicalConfig(config)) as { [key: string]: Json };
}

/** Drops the fields whose value is undefined (left out as defaults). */
export function withoutDefaults<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as T;
}

/** A step (iterations, "500it", "2ep") in iterations for `config` on `dataset`, checked to lie in [0, T]. */
export function stepOf(config: TrainConfig, dataset: Dataset, step: number | string, what: string): number {
  const k = toIterations(parseStep(step, what), iterationsPerEpoch(dataset.train.size, config.batchSize));
  const T = resolveConfig(config, dataset.train.size).totalIterations;
  if (!(Number.isSafeInteger(k) && k >= 0 && k <= T)) {
    throw new Error(
      `${what} = ${JSON.stringify(step)} is step ${k}, outside training (0..${T} iterations of ${config.model}); ` +
        `give a step within [0, T]`,
    );
  }
  return k;
}

/**
 * The fields that tell units of one kind apart, as a small ordered object (model, k, level, pair,
 * mask, seeds): what `lmc ls` shows instead of the full config.
 */
export function describeUnit(kind: string, config: Json | null): Record<string, Json> {
  const c = (config ?? {}) as Record<string, Json>;
  const train = (c.train ?? {}) as Record<string, Json>;
  const out: Record<string, Json> = {};
  const put = (name: string, value: Json | undefined) => {
    if (value !== undefined) out[name] = value;
  };
  put('model', train.model);
  put('T', train.training);
  put('k', c.k);
  put('level', c.level);
  put('pair', c.pair);
  if (c.mask !== undefined) put('mask', maskText(c.mask));
  if (c.reinit !== undefined) put('reinit', shortSeed(c.reinit));
  if (c.sha256 !== undefined) put('sha256', String(c.sha256).slice(0, 12));
  if (train.initSeed !== undefined) put('init', shortSeed(train.initSeed));
  if (train.dataOrderSeed !== undefined) put('order', shortSeed(train.dataOrderSeed));
  return out;
}

/** A one-line label of a unit ("imp-level level=3 k=0"), for progress bars and logs. */
export function unitLabel(kind: string, config: Json | null): string {
  const d = describeUnit(kind, config);
  const parts = ['k', 'level', 'pair', 'mask', 'reinit', 'sha256', 'init', 'order']
    .filter((f) => d[f] !== undefined)
    .map((f) => `${f}=${d[f]}`);
  return [kind, ...parts].join(' ');
}

function maskText(mask: Json): string {
  const m = (mask ?? {}) as Record<string, Json>;
  if (typeof m.imp === 'string') return `imp:${m.imp.slice(0, 8)}`;
  if (typeof m.randomPrune === 'string') return `random:${m.randomPrune.slice(0, 8)}`;
  if (typeof m.sha256 === 'string') return `sha256:${m.sha256.slice(0, 8)}`;
  return JSON.stringify(mask);
}

/** Derived seeds are 48-bit hashes; their first digits are enough to tell them apart in a list. */
function shortSeed(value: Json): string | number {
  return typeof value === 'number' && value > 99999 ? `${String(value).slice(0, 6)}…` : (value as number);
}
