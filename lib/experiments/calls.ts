/**
 * Unit calls as data: a unit function and its arguments in a form that crosses to a worker
 * thread (structured clone: no functions, no tensors, masks by their key). A worker runs the
 * call against the same store; the caller then makes the same call itself and finds the unit
 * there, so a parallel run returns exactly what a serial one computes.
 */
import type { TrainConfig } from '../train/config';
import type { ExperimentContext } from './context';
import { copy, type CopySpec } from './copy';
import { impLevel, type ImpLevelOptions } from './imp';
import { maskKey, type MaskKey } from './masks';
import { instabilityPair, type PairSpec } from './pair';
import { throughoutUnit, type ThroughoutUnitSpec } from './throughout';
import { trunk, type TrunkOptions } from './trunk';

/** A unit function call that a worker thread can make. */
export type UnitCall =
  | { unit: 'trunk'; config: TrainConfig; k: number | string; options?: TrunkOptions }
  | { unit: 'copy'; spec: Omit<CopySpec, 'mask'> & { mask?: MaskKey } }
  | { unit: 'imp-level'; config: TrainConfig; level: number; options?: ImpLevelOptions }
  | { unit: 'instability-pair'; spec: Omit<PairSpec, 'mask'> & { mask?: MaskKey } }
  | { unit: 'throughout'; spec: ThroughoutUnitSpec };

/** The call of `copy(ctx, spec)`, its mask given by key. */
export function copyCall(spec: CopySpec): UnitCall {
  return { unit: 'copy', spec: { ...spec, mask: spec.mask === undefined ? undefined : maskKey(spec.mask, spec.config) } };
}

/** The call of `instabilityPair(ctx, spec)`, its mask given by key. */
export function pairCall(spec: PairSpec): UnitCall {
  return { unit: 'instability-pair', spec: { ...spec, mask: spec.mask === undefined ? undefined : maskKey(spec.mask, spec.config) } };
}

/** Makes `call` in this thread; resolves to the unit's hash. */
export async function runCall(ctx: ExperimentContext, call: UnitCall): Promise<string> {
  switch (call.unit) {
    case 'trunk': return (await trunk(ctx, call.config, call.k, call.options)).ref.hash;
    case 'copy': return (await copy(ctx, call.spec)).ref.hash;
    case 'imp-level': return (await impLevel(ctx, call.config, call.level, call.options)).ref.hash;
    case 'instability-pair': return (await instabilityPair(ctx, call.spec)).ref.hash;
    case 'throughout': return (await throughoutUnit(ctx, call.spec)).ref.hash;
    default: throw new Error(`lmc-lab worker: unknown unit call ${JSON.stringify((call as { unit?: unknown }).unit)}`);
  }
}
