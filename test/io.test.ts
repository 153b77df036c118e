import { mock, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fsPromises = require('node:fs/promises');
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensorsFile,
  SafetensorsError,
  SafetensorsErrorCode,
  SafetensorsTensor,
  swapByteOrder,
  writeSafetensorsFile,
} from '../lib/io/safetensors';

/** Tensors of every dtype family, scalars, zero-size tensors and an integer-like name out of order. */
function sample(): Map<string, SafetensorsTensor> {
  return new Map<string, SafetensorsTensor>([
    ['layer.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3.25, -0, NaN, Infinity]) }],
    ['layer.bias', { dtype: 'F64', shape: [3], data: new Float64Array([0.1, -1e300, 5e-324]) }],
    ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([Math.PI]) }],
    ['step', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n + 7n]) }],
    ['counts', { dtype: 'I32', shape: [2, 2], data: new Int32Array([-2147483648, 2147483647, 0, -1]) }],
    ['pixels', { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) }],
    ['mask', { dtype: 'BOOL', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) }],
    ['half', { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x3800]) }],
    ['empty', { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) }],
    ['empty.ints', { dtype: 'I64', shape: [3, 0], data: new BigInt64Array(0) }],
    ['0', { dtype: 'I8', shape: [1, 1, 1], data: new Int8Array([-7]) }],
    ['ünïcode "quoted"\n', { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) }],
  ]);
}

const bytesOf = (t: SafetensorsTensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Bitwise equality (NaN and -0 included), order of names, dtypes and shapes. */
function assertSameTensors(actual: Map<string, SafetensorsTensor>, expected: Map<string, SafetensorsTensor>): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()]);
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.equal(a.dtype, e.dtype, name);
    assert.deepEqual(a.shape, e.shape, name);
    assert.equal(a.data.constructor, e.data.constructor, name);
    assert.deepEqual(bytesOf(a), bytesOf(e), name);
  }
}

test('decode(encode(x)) gives back every tensor bit for bit, in order, with metadata', () => {
  const tensors = sample();
  const metadata = { format: 'pt', note: 'ünï "x"', '3': 'integer-like key' };
  const bytes = encodeSafetensors(tensors, metadata);
  const decoded = decodeSafetensors(bytes);
  assertSameTensors(decoded.tensors, tensors);
  assert.deepEqual(decoded.metadata, metadata);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0, 'data starts 8-byte aligned');
  for (const t of decoded.tensors.values()) assert.equal(t.data.byteOffset, 0, 'decoded data is copied out, aligned');
});

test('encode(decode(bytes)) is byte-identical for files we write', () => {
  for (const metadata of [undefined, { a: 'b', '10': 'x', '2': 'y' }]) {
    const bytes = encodeSafetensors(sample(), metadata);
    const decoded = decodeSafetensors(bytes);
    assert.deepEqual(encodeSafetensors(decoded.tensors, decoded.metadata), bytes);
  }
  const empty = encodeSafetensors(new Map());
  assert.deepEqual(encodeSafetensors(decodeSafetensors(empty).tensors), empty);
  assert.deepEqual(encodeSafetensors(new Map(), {}), empty, 'empty metadata is written as none');
});

test('decode works on a view at an odd offset into a larger buffer, and on a Buffer', () => {
  const bytes = encodeSafetensors(sample());
  const host = new Uint8Array(bytes.length + 3);
  host.set(bytes, 3);
  assertSameTensors(decodeSafetensors(host.subarray(3)).tensors, sample());
  // Node Buffers are views into shared pools and their slice() does not copy.
  const decoded = decodeSafetensors(Buffer.from(bytes));
  assertSameTensors(decoded.tensors, sample());
  for (const t of decoded.tensors.values())
    assert.equal(t.data.buffer.byteLength, t.data.byteLength, 'owns its buffer');
});

test('a tiny file matches bytes computed by hand', () => {
  const tensors = new Map<string, SafetensorsTensor>([
    ['w', { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) }],
  ]);
  const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal(header.length, 79); // 26 for '{"__metadata__":{"k":"v"},', 53 for '"w":{...}' and the closing '}'
  const padded = header + ' '; // 79 + 1 = 80, so the data starts at 8 + 80 = 88, a multiple of 8
  const expected = Uint8Array.from([
    80,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // u64 LE header length
    ...[...padded].map((c) => c.charCodeAt(0)),
    0x00,
    0x00,
    0xc0,
    0x3f, // 1.5 = 0x3fc00000, little-endian
    0x00,
    0x00,
    0x00,
    0xc0, // -2 = 0xc0000000
  ]);
  const bytes = encodeSafetensors(tensors, { k: 'v' });
  assert.deepEqual(bytes, expected);
  assert.deepEqual([...(decodeSafetensors(expected).tensors.get('w')!.data as Float32Array)], [1.5, -2]);
});

test('swapByteOrder reverses each element, as a big-endian host needs', () => {
  const b = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  swapByteOrder(b, 4);
  assert.deepEqual([...b], [4, 3, 2, 1, 8, 7, 6, 5]);
  swapByteOrder(b, 8);
  assert.deepEqual([...b], [5, 6, 7, 8, 1, 2, 3, 4]);
});

/** A file with a hand-written header (padded to 8 bytes) and `dataLength` data bytes. */
function rawFile(header: string | object, dataLength: number, headerLength?: number): Uint8Array {
  let text = typeof header === 'string' ? header : JSON.stringify(header);
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const json = Buffer.from(text);
  const out = new Uint8Array(8 + json.length + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  return out;
}

function assertRejects(bytes: Uint8Array, code: SafetensorsErrorCode, message: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'bad.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${e}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, /^bad\.safetensors: /);
      assert.match(e.message, message);
      return true;
    },
  );
}

const f32 = (shape: number[], offsets: number[]) => ({ dtype: 'F32', shape, data_offsets: offsets });

test('each kind of corruption is rejected with an error naming the file and the problem', () => {
  const good = encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]]));
  assertRejects(good.subarray(0, 5), 'TOO_SHORT', /too short/);
  assertRejects(rawFile({ a: f32([1], [0, 4]) }, 4, 1_000_000), 'HEADER_LENGTH', /past the end of the file/);
  const notUtf8 = rawFile('{"a\xff":{}}', 0);
  notUtf8[12] = 0xff;
  assertRejects(notUtf8, 'HEADER_NOT_UTF8', /not valid UTF-8/);
  assertRejects(rawFile('{"a": {"dtype": ', 0), 'INVALID_JSON', /not valid JSON/);
  assertRejects(rawFile('[1, 2]', 0), 'INVALID_HEADER', /JSON object/);
  assertRejects(rawFile('\ufeff{}', 0), 'INVALID_HEADER', /JSON object/);
  assertRejects(rawFile({ a: 3 }, 0), 'INVALID_HEADER', /"a" must be an object/);
  assertRejects(rawFile({ a: { ...f32([1], [0, 4]), extra: 1 } }, 4), 'INVALID_HEADER', /unexpected fields "extra"/);
  assertRejects(
    rawFile(
      '{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}',
      8,
    ),
    'DUPLICATE_NAME',
    /"a" twice/,
  );
  assertRejects(
    rawFile({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16),
    'UNKNOWN_DTYPE',
    /unknown dtype "F128"/,
  );
  assertRejects(rawFile({ a: f32([-1], [0, 4]) }, 4), 'INVALID_SHAPE', /non-negative integers/);
  assertRejects(rawFile({ a: f32([1.5], [0, 4]) }, 4), 'INVALID_SHAPE', /non-negative integers/);
  assertRejects(rawFile({ a: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, 8), 'INVALID_SHAPE', /array/);
  assertRejects(rawFile({ a: f32([1], [4, 0]) }, 4), 'INVALID_OFFSETS', /end before they begin/);
  assertRejects(rawFile({ a: f32([1], [0]) }, 4), 'INVALID_OFFSETS', /\[begin, end\]/);
  assertRejects(
    rawFile({ a: f32([3], [0, 8]) }, 8),
    'SHAPE_OFFSET_MISMATCH',
    /needs 12 bytes but data_offsets \[0, 8\] span 8/,
  );
  assertRejects(
    rawFile({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12),
    'OVERLAPPING_OFFSETS',
    /"b" \[4, 12\] overlaps tensor "a"/,
  );
  assertRejects(
    rawFile({ a: f32([1], [0, 4]), b: f32([1], [8, 12]) }, 12),
    'GAP_IN_OFFSETS',
    /\[4, 8\) before tensor "b"/,
  );
  assertRejects(rawFile({ a: f32([1], [4, 8]) }, 8), 'GAP_IN_OFFSETS', /\[0, 4\)/);
  const trailing = new Uint8Array(good.length + 3);
  trailing.set(good);
  assertRejects(trailing, 'TRAILING_BYTES', /3 trailing bytes/);
  assertRejects(good.subarray(0, good.length - 1), 'TRUNCATED', /truncated/);
  assertRejects(
    rawFile({ __metadata__: { k: 1 } }, 0),
    'INVALID_METADATA',
    /metadata "k" is number 1.*must be strings/,
  );
  assertRejects(rawFile({ __metadata__: ['x'] }, 0), 'INVALID_METADATA', /object of strings/);
});

test('a file from another writer decodes in header order, whatever the offset order', () => {
  const bytes = rawFile({ __metadata__: null, b: f32([1], [4, 8]), a: f32([1], [0, 4]), z: f32([0], [8, 8]) }, 8);
  new DataView(bytes.buffer).setFloat32(bytes.length - 8, 10, true);
  new DataView(bytes.buffer).setFloat32(bytes.length - 4, 20, true);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual([...tensors.keys()], ['b', 'a', 'z']);
  assert.deepEqual([...tensors.get('a')!.data], [10]);
  assert.deepEqual([...tensors.get('b')!.data], [20]);
  assert.deepEqual(metadata, {});
});

test('encoding rejects tensors that do not describe themselves', () => {
  const bad = (t: unknown, meta?: unknown) => () =>
    encodeSafetensors(new Map([['t', t as SafetensorsTensor]]), meta as Record<string, string>);
  assert.throws(
    bad({ dtype: 'F32', shape: [2], data: new Float64Array(2) }),
    /dtype F32, which needs a Float32Array, but its data is a Float64Array/,
  );
  assert.throws(
    bad({ dtype: 'F32', shape: [3], data: new Float32Array(2) }),
    /shape \[3\] \(3 elements\) but 2 data elements/,
  );
  assert.throws(bad({ dtype: 'Q4', shape: [1], data: new Uint8Array(1) }), /unknown dtype "Q4"/);
  assert.throws(bad({ dtype: 'F32', shape: [-2], data: new Float32Array(0) }), /non-negative integers/);
  assert.throws(
    bad({ dtype: 'U8', shape: [1], data: new Uint8Array(1) }, { epoch: 3 }),
    /metadata "epoch" is number 3/,
  );
  assert.throws(
    () =>
      encodeSafetensors(
        new Map([['__metadata__', { dtype: 'U8', shape: [], data: new Uint8Array(1) } as SafetensorsTensor]]),
      ),
    /reserved/,
  );
});

test('files: write atomically, read back, errors name the path', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lmc-io-'));
  try {
    const file = path.join(dir, 'weights.safetensors');
    await writeSafetensorsFile(file, sample(), { run: 'a' });
    assert.deepEqual(readdirSync(dir), ['weights.safetensors'], 'no temp file left behind');
    const back = await readSafetensorsFile(file);
    assertSameTensors(back.tensors, sample());
    assert.deepEqual(back.metadata, { run: 'a' });

    writeFileSync(path.join(dir, 'broken.safetensors'), Buffer.from([1, 2, 3]));
    await assert.rejects(
      readSafetensorsFile(path.join(dir, 'broken.safetensors')),
      (e: Error) => e.message.startsWith(path.join(dir, 'broken.safetensors') + ': ') && /too short/.test(e.message),
    );
    await assert.rejects(
      readSafetensorsFile(path.join(dir, 'missing.safetensors')),
      /missing\.safetensors: cannot read/,
    );
    await assert.rejects(
      writeSafetensorsFile(path.join(dir, 'x'), new Map(), { n: 1 as unknown as string }),
      /x: metadata "n"/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a crash between write and rename leaves the old file intact and no temp file', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lmc-io-'));
  try {
    const file = path.join(dir, 'weights.safetensors');
    const old = new Map<string, SafetensorsTensor>([['w', { dtype: 'F32', shape: [1], data: new Float32Array([1]) }]]);
    await writeSafetensorsFile(file, old);
    const oldBytes = readFileSync(file);
    const rename = mock.method(fsPromises, 'rename', async () => {
      throw new Error('simulated crash before rename');
    });
    try {
      await assert.rejects(
        writeSafetensorsFile(file, sample()),
        /atomic write failed \(simulated crash before rename\).*unchanged/,
      );
      assert.equal(rename.mock.callCount(), 1, 'the write reached the rename');
    } finally {
      rename.mock.restore();
    }
    assert.deepEqual(readFileSync(file), oldBytes);
    assert.deepEqual(readdirSync(dir), ['weights.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
