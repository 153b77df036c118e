/**
 * Identity of a unit of work: the SHA-256 of the canonical JSON of {kind, config}. Canonical means
 * object keys sorted (by UTF-16 code units, JavaScript's default sort) at every depth, no spaces,
 * numbers and strings as JSON.stringify writes them. Two configs that differ only in key order are
 * the same unit. Leaving default-valued fields out is the caller's job (see train/config.ts): the
 * store cannot know defaults, and a config written with and without a default would be two units.
 *
 * Values JSON cannot hold exactly (NaN, Infinity, undefined in arrays, functions, Dates, Maps,
 * typed arrays, class instances, cycles) are rejected rather than coerced, because JSON.stringify
 * would silently turn them into null or {} and two different configs would share a hash.
 */
import { createHash } from 'node:crypto';
import { StoreError } from './errors';

/** A JSON value as the store keeps it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Unit kinds name a folder, so they are restricted to safe, case-insensitive-filesystem-proof names. */
const KIND_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

/** Throws unless `kind` is a valid unit kind (lowercase letter, then up to 63 of a-z 0-9 _ -). */
export function checkKind(kind: unknown): asserts kind is string {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    throw new StoreError(
      'INVALID_KIND',
      `store: unit kind ${JSON.stringify(kind)} is not valid; use a lowercase letter followed by up to 63 of ` +
        `a-z, 0-9, '_' or '-' (e.g. "train", "imp-level")`,
    );
  }
}

/**
 * The canonical JSON text of a plain JSON value: keys sorted, compact. Object properties whose
 * value is undefined are left out (as JSON.stringify does, and as an optional field is absent).
 * `what` names the value in errors, e.g. "config".
 */
export function canonicalJson(value: unknown, what = 'value'): string {
  return write(value, what, new Set());
}

function write(value: unknown, at: string, ancestors: Set<object>): string {
  const fail = (problem: string): never => {
    throw new StoreError('INVALID_CONFIG', `${at}: ${problem}`);
  };
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) fail(`${value} cannot be stored in JSON; use null or a string`);
      // -0 and 0 are one number to JSON.stringify; say so explicitly rather than rely on it.
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object':
      break;
    default:
      return fail(
        `a ${typeof value} is not a JSON value; configs must be plain JSON (objects, arrays, strings, ` +
          `finite numbers, booleans, null)`,
      );
  }
  const object = value as object;
  if (ancestors.has(object)) fail('the value contains itself (a cycle); configs must be trees');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const items = object.map((item: unknown, i) => {
        if (item === undefined) fail(`element ${i} is undefined; arrays cannot hold undefined in JSON (use null)`);
        return write(item, `${at}[${i}]`, ancestors);
      });
      return `[${items.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      fail(
        `a ${object.constructor?.name ?? 'non-plain object'} is not plain JSON; ` +
          `convert it (e.g. a Date to an ISO string, a typed array to an array)`,
      );
    }
    const keys = Object.keys(object).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const item = (object as Record<string, unknown>)[key];
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(item, `${at}.${key}`, ancestors)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

/** SHA-256 of text or bytes, as 64 lowercase hex digits. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The identity of a unit: its kind, its config, their canonical text and its hash. */
export interface UnitIdentity {
  kind: string;
  /** The config as canonical JSON parsed back, so it holds exactly what was hashed. */
  config: Json;
  /** Canonical JSON of {config, kind}: the text that is hashed and stored as config.json. */
  canonical: string;
  /** SHA-256 of `canonical`, 64 hex digits: the unit's folder name. */
  hash: string;
}

/** Computes the identity of a unit from its kind and config (a plain JSON-able object). */
export function unitIdentity(kind: string, config: unknown): UnitIdentity {
  checkKind(kind);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new StoreError(
      'INVALID_CONFIG',
      `config of a "${kind}" unit: must be a plain object, got ` +
        `${config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config}`,
    );
  }
  // Written out rather than canonicalJson({config, kind}) so errors name "config.lr", not "config.config.lr";
  // the keys are in sorted order, so the text is the same.
  const canonical = `{"config":${canonicalJson(config, 'config')},"kind":${JSON.stringify(kind)}}`;
  const parsed = JSON.parse(canonical) as { config: Json };
  return { kind, config: parsed.config, canonical, hash: sha256(canonical) };
}

/** The hash of a unit, for callers that only need its name. */
export function unitHash(kind: string, config: unknown): string {
  return unitIdentity(kind, config).hash;
}

/** True for a full unit hash (64 lowercase hex digits), as found in folder names. */
export function isUnitHash(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}
