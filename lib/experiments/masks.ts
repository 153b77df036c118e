/**
 * How a unit names the mask it trains under. A mask is identified either by the IMP level unit
 * that produced it (its hash), or by the content hash of its bytes (a mask stored with
 * `storeMask`, e.g. one loaded from a file), or as the random-pruning baseline of an IMP level
 * (same per-tensor counts, positions from a seeded stream). The identity never holds the mask
 * itself; the unit loads it from the store when it computes.
 */
import { sha256, type FinishedUnit, type Json } from '../store';
import type { tf } from '../tf';
import type { TrainConfig } from '../train/config';
import type { Masks } from '../prune/mask';
import { pruningFor } from '../prune/choices';
import { randomPruneMask, randomPruningStream } from '../prune/random';
import { cachedUnit, type ExperimentContext, type UnitResult } from './unit';
import { decodeState, encodeMasks } from '../train/state-bytes';
import { unitLabel, withoutDefaults } from './keys';

/** The file IMP level units and mask units keep their mask in. */
export const MASK_FILE = 'mask.safetensors';

/** A unit that holds a mask: an IMP level (`impLevel`) or a stored mask (`storeMask`). */
export interface MaskHolder extends UnitResult {
  loadMask(): Promise<Masks>;
}

/** A mask stored by content. */
export interface StoredMask extends MaskHolder {
  /** SHA-256 of the mask's bytes: its name in other units' identities. */
  sha256: string;
}

/** A mask as a unit function accepts it. */
export type MaskSpec =
  /** The mask an IMP level trained with: its result, or `{ imp: <hash of the imp-level unit> }`. */
  | MaskHolder
  | { imp: string }
  /** A mask stored with storeMask, by content hash. */
  | { sha256: string }
  /**
   * Random pruning with the IMP level's per-tensor counts (or
   * total, 'global'); seed default: the config's initSeed.
   */
  | { randomPrune: MaskHolder | string; seed?: number; scope?: 'layerwise' | 'global' };

/** A mask as it appears in a unit's identity. */
export type MaskKey = { imp: string } | { sha256: string } | { randomPrune: string; seed?: number; scope?: 'global' };

function isHolder(value: unknown): value is MaskHolder {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as MaskHolder).loadMask === 'function' &&
    typeof (value as MaskHolder).ref === 'object'
  );
}

function holderKey(holder: MaskHolder): MaskKey {
  if ((holder as StoredMask).sha256) return { sha256: (holder as StoredMask).sha256 };
  if (holder.ref.kind !== 'imp-level')
    throw new Error(
      `mask: a ${holder.ref.kind} unit holds no mask; give an IMP level, a stored mask or { randomPrune: level }`,
    );
  return { imp: holder.ref.hash };
}

/** The identity of a mask spec under `config` (seed and scope left out at their defaults). */
export function maskKey(spec: MaskSpec, config: TrainConfig): MaskKey {
  if (isHolder(spec)) return holderKey(spec);
  const s = spec as Record<string, unknown>;
  const hex = (value: unknown, what: string): string => {
    if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value))
      throw new Error(
        `mask: ${what} = ${JSON.stringify(value)} is not a hash; give the 64 hex digits \`lmc ls\` and unit.hash show`,
      );
    return value;
  };
  if ('imp' in s) return { imp: hex(s.imp, 'imp') };
  if ('sha256' in s) return { sha256: hex(s.sha256, 'sha256') };
  if ('randomPrune' in s) {
    const of = isHolder(s.randomPrune) ? holderKey(s.randomPrune) : { imp: hex(s.randomPrune, 'randomPrune') };
    if (!('imp' in of))
      throw new Error(
        'mask: randomPrune takes an IMP level (its result or hash): the baseline keeps the counts of an IMP mask',
      );
    const seed = s.seed as number | undefined;
    if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0))
      throw new Error(`mask: randomPrune seed = ${JSON.stringify(seed)}; seeds are whole numbers >= 0`);
    if (s.scope !== undefined && s.scope !== 'layerwise' && s.scope !== 'global')
      throw new Error(`mask: randomPrune scope = ${JSON.stringify(s.scope)}; use "layerwise" or "global"`);
    return withoutDefaults({
      randomPrune: of.imp,
      seed: seed === config.initSeed ? undefined : seed,
      scope: s.scope === 'global' ? ('global' as const) : undefined,
    });
  }
  throw new Error(
    `mask: ${JSON.stringify(spec)} is not a mask spec; ` +
      `give an IMP level result, { imp: hash }, { sha256: hash } (storeMask) or { randomPrune: level }`,
  );
}

/** Finds a finished unit by kind and full hash; errors say how to make it. */
export async function findUnit(ctx: ExperimentContext, kind: string, hash: string): Promise<FinishedUnit> {
  let config: Json | null = null;
  try {
    const info = await ctx.store.show(`${kind}/${hash}`);
    if (info.state === 'finished') config = info.config;
  } catch {
    // Not found: reported below with the fix.
  }
  const unit = config === null ? null : await ctx.store.get(kind, config);
  if (!unit)
    throw new Error(
      `mask: the ${kind} unit ${hash.slice(0, 12)} is not finished in the store at ${ctx.store.root}; ` +
        `compute it first (impLevel or storeMask), in this store`,
    );
  return unit;
}

/** Reads the masks of a finished IMP level or mask unit. */
export async function readMask(unit: FinishedUnit): Promise<Masks> {
  return decodeState(await unit.readFile(MASK_FILE), `${unit.dir}/${MASK_FILE}`).masks;
}

/** The masks a key names, loaded from the store (the caller disposes them). */
export async function loadMask(ctx: ExperimentContext, key: MaskKey, config: TrainConfig): Promise<Masks> {
  if ('imp' in key) return readMask(await findUnit(ctx, 'imp-level', key.imp));
  if ('sha256' in key) {
    const unit = await ctx.store.get('mask', { sha256: key.sha256 });
    if (!unit)
      throw new Error(
        `mask: no stored mask with sha256 ${key.sha256.slice(0, 12)} in ${ctx.store.root}; ` +
          `store it first with storeMask`,
      );
    return readMask(unit);
  }
  const level = await findUnit(ctx, 'imp-level', key.randomPrune);
  const levelConfig = level.config as {
    level: number;
    pruning?: { tensors?: Record<string, unknown> };
    train: { model: string };
  };
  const tensors = levelConfig.pruning?.tensors ?? pruningFor(levelConfig.train.model).tensors;
  const exclude = Object.entries(tensors)
    .filter(([, rule]) => rule === 'exclude')
    .map(([name]) => name);
  const impMask = await readMask(level);
  try {
    const stream = randomPruningStream(key.seed ?? config.initSeed, levelConfig.level);
    return randomPruneMask(impMask, stream, { scope: key.scope ?? 'layerwise', exclude });
  } finally {
    impMask.forEach((t) => t.dispose());
  }
}

/** Stores masks by content (in parameter order) and returns a holder other units can name. */
export async function storeMask(ctx: ExperimentContext, masks: ReadonlyMap<string, tf.Tensor>): Promise<StoredMask> {
  const bytes = encodeMasks(masks);
  const key = { sha256: sha256(bytes) };
  const { unit, ref } = await cachedUnit(ctx, 'mask', key, unitLabel('mask', key), async (writer) => {
    await writer.writeFile(MASK_FILE, bytes);
    return { tensors: masks.size };
  });
  return { unit, ref, sha256: key.sha256, loadMask: () => readMask(unit) };
}
