/**
 * Every kind of unit a call can ask for, by kind: what an executor (this thread, a worker thread)
 * looks a call up in. The one place that knows every unit module.
 */
import type { TrainConfig } from '../train/config';
import { COPY_UNIT } from './copy';
import { IMP_LEVEL_UNIT } from './imp';
import { PAIR_UNIT } from './pair';
import { THROUGHOUT_UNIT } from './throughout';
import { TRUNK_UNIT } from './trunk';
import type { CallKind, UnitCall, UnitDefinition } from './unit';

const UNITS: { readonly [K in CallKind]: UnitDefinition<never> } = {
  trunk: TRUNK_UNIT,
  copy: COPY_UNIT,
  'imp-level': IMP_LEVEL_UNIT,
  'instability-pair': PAIR_UNIT,
  throughout: THROUGHOUT_UNIT,
};

/** The definition of a call's kind; throws naming the kinds there are. */
export function unitDefinition(call: UnitCall): UnitDefinition<unknown> {
  const definition = Object.hasOwn(UNITS, call.unit) ? UNITS[call.unit] : undefined;
  if (!definition)
    throw new Error(
      `lmc-lab: unknown unit call ${JSON.stringify(call.unit)}; the kinds are ${Object.keys(UNITS).join(', ')}`,
    );
  return definition as UnitDefinition<unknown>;
}

/** A short description of a call for messages, e.g. "copy k=100 order=7". */
export function describeCall(call: UnitCall): string {
  return unitDefinition(call).describe(call.spec);
}

/** The config a call trains under (which dataset its worker loads). */
export function callConfig(call: UnitCall): TrainConfig {
  return unitDefinition(call).config(call.spec);
}
