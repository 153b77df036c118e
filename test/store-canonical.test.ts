import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { canonicalJson, checkKind, defaultStoreRoot, StoreError, unitHash, unitIdentity } from '../lib/store';
import { checkFileName } from '../lib/store/layout';

test('canonical JSON sorts keys at every depth; key order never changes the hash', () => {
  const a = { model: 'lenet_300_100', lr: 0.0012, nested: { b: [1, { y: 2, x: 1 }], a: null }, flag: true };
  const b = { flag: true, nested: { a: null, b: [1, { x: 1, y: 2 }] }, lr: 0.0012, model: 'lenet_300_100' };
  assert.equal(
    canonicalJson(a),
    '{"flag":true,"lr":0.0012,"model":"lenet_300_100","nested":{"a":null,"b":[1,{"x":1,"y":2}]}}',
  );
  assert.equal(canonicalJson(a), canonicalJson(b));
  assert.equal(unitHash('train', a), unitHash('train', b));
  assert.match(unitHash('train', a), /^[0-9a-f]{64}$/);
});

test('the hash depends on kind and on every value, and array order matters', () => {
  const c = { k: 1, list: [1, 2] };
  assert.notEqual(unitHash('train', c), unitHash('eval', c));
  assert.notEqual(unitHash('train', c), unitHash('train', { k: 2, list: [1, 2] }));
  assert.notEqual(unitHash('train', c), unitHash('train', { k: 1, list: [2, 1] }));
  assert.notEqual(unitHash('train', { k: 1 }), unitHash('train', { k: '1' }));
});

test("defaults are the caller's job: a field written at its default is a different unit", () => {
  // The store cannot know defaults; train/config.ts's canonicalConfig leaves them out before hashing.
  assert.notEqual(unitHash('train', { lr: 0.1 }), unitHash('train', { lr: 0.1, momentum: 0 }));
  // An undefined property is absent, as in JSON.stringify, so optional fields left unset hash alike.
  assert.equal(unitHash('train', { lr: 0.1 }), unitHash('train', { lr: 0.1, momentum: undefined }));
});

test('numbers and strings are written exactly as JSON.stringify does; -0 is 0', () => {
  assert.equal(
    canonicalJson({ x: 1e21, y: 0.1 + 0.2, z: -0, s: 'é"\n' }),
    '{"s":"é\\"\\n","x":1e+21,"y":0.30000000000000004,"z":0}',
  );
  assert.equal(unitHash('t', { z: -0 }), unitHash('t', { z: 0 }));
});

test('the identity keeps the canonical text and the parsed config', () => {
  const id = unitIdentity('imp-level', { b: 2, a: 1 });
  assert.equal(id.canonical, '{"config":{"a":1,"b":2},"kind":"imp-level"}');
  assert.deepEqual(id.config, { a: 1, b: 2 });
  assert.deepEqual(Object.keys(id.config as object), ['a', 'b']);
});

test('values JSON cannot hold exactly are rejected with the path of the bad field', () => {
  const cases: [unknown, RegExp][] = [
    [{ lr: NaN }, /config\.lr: NaN cannot be stored/],
    [{ lr: Infinity }, /config\.lr: Infinity/],
    [{ a: { b: [1, undefined] } }, /config\.a\.b: element 1 is undefined/],
    [{ when: new Date(0) }, /config\.when: a Date is not plain JSON/],
    [{ m: new Map() }, /config\.m: a Map/],
    [{ w: new Float32Array(2) }, /config\.w: a Float32Array/],
    [{ f: () => 1 }, /config\.f: a function is not a JSON value/],
    [{ n: 10n }, /config\.n: a bigint/],
    [{ s: Symbol('x') }, /config\.s: a symbol/],
  ];
  for (const [config, message] of cases) {
    assert.throws(
      () => unitHash('train', config),
      (e: unknown) => e instanceof StoreError && e.code === 'INVALID_CONFIG' && message.test(e.message),
      String(message),
    );
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.throws(() => unitHash('train', cyclic), /config\.self: the value contains itself/);
  for (const bad of [null, [1], 'x', 3]) assert.throws(() => unitHash('train', bad), /must be a plain object/);
});

test('kinds and file names are checked, naming the value and the rule', () => {
  for (const kind of ['train', 'imp-level', 'a_b9']) checkKind(kind);
  for (const kind of ['', 'Train', '9x', 'a/b', '../x', 'a b', 'x'.repeat(65), 7]) {
    assert.throws(
      () => checkKind(kind),
      (e: unknown) => e instanceof StoreError && e.code === 'INVALID_KIND' && e.message.includes(JSON.stringify(kind)),
    );
  }
  for (const name of ['w.safetensors', 'metrics/train.csv', 'k=100/a.bin'])
    assert.equal(checkFileName(name, 'here'), name);
  for (const name of [
    '',
    '../x',
    '/abs',
    'a/../b',
    '.hidden',
    'a//b',
    'manifest.json',
    'config.json',
    'partial/x',
    'a/b/c/d/e',
    'sp ace',
  ]) {
    assert.throws(
      () => checkFileName(name, 'here'),
      (e: unknown) => e instanceof StoreError && e.code === 'INVALID_NAME' && e.message.startsWith('here: file name'),
      name,
    );
  }
});

test('the default root is $LMC_HOME/store, else ~/.lmc/store', () => {
  assert.equal(defaultStoreRoot({ LMC_HOME: '/data/lmc' }), '/data/lmc/store');
  assert.equal(defaultStoreRoot({ LMC_HOME: 'rel' }), path.resolve('rel', 'store'));
  assert.match(defaultStoreRoot({}), /\.lmc[/\\]store$/);
  assert.match(defaultStoreRoot({ LMC_HOME: ' ' }), /\.lmc[/\\]store$/);
});
