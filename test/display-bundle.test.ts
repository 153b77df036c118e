// The display protocol: the well-known symbol, registered converters, and the text fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDisplayable } from '../lib/display/bundle';
import { MIME_BUNDLE, registerDisplay, toMimeBundle } from '../lib/display';

test('MIME_BUNDLE is the global-registry symbol, so copies of the library agree on it', () => {
  assert.equal(MIME_BUNDLE, Symbol.for('lmc-lab.mimeBundle'));
});

test('an object with the symbol supplies its own bundle, ahead of any converter', () => {
  class Marked {
    [MIME_BUNDLE]() {
      return { 'text/html': '<b>own</b>', 'text/plain': 'own' };
    }
  }
  registerDisplay(
    (v) => v instanceof Marked,
    () => ({ 'text/plain': 'converter' }),
  );
  const value = new Marked();
  assert.ok(isDisplayable(value));
  assert.deepEqual(toMimeBundle(value), { 'text/html': '<b>own</b>', 'text/plain': 'own' });
  // A plain object literal works too (the symbol is looked up on the value, not its class).
  assert.deepEqual(toMimeBundle({ [MIME_BUNDLE]: () => ({ 'text/plain': 'literal' }) }), { 'text/plain': 'literal' });
});

test('registered converters apply to values without the symbol; the latest registration wins', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  registerDisplay(
    (v) => v instanceof Point,
    (v) => ({ 'text/plain': `first ${(v as Point).x}` }),
  );
  assert.deepEqual(toMimeBundle(new Point(1, 2)), { 'text/plain': 'first 1' });
  registerDisplay(
    (v) => v instanceof Point,
    (v) => ({ 'text/plain': `second ${(v as Point).y}` }),
  );
  assert.deepEqual(toMimeBundle(new Point(1, 2)), { 'text/plain': 'second 2' });
});

test('anything else falls back to text/plain: strings as they are, other values inspected', () => {
  assert.deepEqual(toMimeBundle('hello\nworld'), { 'text/plain': 'hello\nworld' });
  assert.deepEqual(toMimeBundle(42), { 'text/plain': '42' });
  assert.deepEqual(toMimeBundle({ a: [1, 2] }), { 'text/plain': '{ a: [ 1, 2 ] }' });
  assert.deepEqual(toMimeBundle(undefined), { 'text/plain': 'undefined' });
  assert.equal(isDisplayable(null), false);
  assert.equal(isDisplayable({ [MIME_BUNDLE]: 'not a function' }), false);
});
