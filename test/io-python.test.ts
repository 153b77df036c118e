/**
 * Interoperability: a Python reader, written from the spec with only json + numpy, and the
 * reference safetensors and torch (the project's Python environment) must see the tensors we wrote.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SafetensorsTensor, writeSafetensorsFile } from '../lib/io/safetensors';
import { missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

/**
 * Reads a file by the spec with json + numpy alone, then with safetensors.numpy and torch when
 * they import; prints names, dtypes, shapes and sums. Sums are strings: exact for integers.
 */
const PYTHON_READER = String.raw`
import json, struct, sys
import numpy as np
path = sys.argv[1]
raw = open(path, 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
NP = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1',
      'U64': '<u8', 'U32': '<u4', 'U16': '<u2', 'U8': 'u1', 'BOOL': '?'}
def summary(name, dtype, shape, arr):
    if arr.dtype.kind in 'iub':
        total = str(sum(int(v) for v in arr.ravel().tolist()))
    else:
        total = repr(float(arr.astype(np.float64).sum()))
    return {'name': name, 'dtype': dtype, 'shape': list(shape), 'sum': total}
def by_spec():
    out = []
    for name, info in header.items():
        if name == '__metadata__':
            continue
        b, e = info['data_offsets']
        chunk = data[b:e]
        if info['dtype'] == 'BF16':
            arr = (np.frombuffer(chunk, '<u2').astype('<u4') << 16).view('<f4')
        else:
            arr = np.frombuffer(chunk, NP[info['dtype']])
        out.append(summary(name, info['dtype'], info['shape'], arr.reshape(info['shape'])))
    return out
result = {'numpy': by_spec(), 'metadata': header.get('__metadata__', {}), 'safetensors': None, 'torch': None}
try:
    from safetensors import safe_open
    with safe_open(path, framework='np') as f:
        # numpy has no bfloat16, so the reference refuses those tensors in numpy mode.
        keep = [k for k in f.keys() if header[k]['dtype'] != 'BF16']
        result['safetensors'] = [summary(k, '', f.get_tensor(k).shape, f.get_tensor(k)) for k in keep]
        result['safetensors_metadata'] = f.metadata()
except ImportError as e:
    result['safetensors_skipped'] = str(e)
try:
    import torch
    TORCH = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
             'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8,
             'U8': torch.uint8, 'BOOL': torch.bool}
    out = []
    for name, info in header.items():
        if name == '__metadata__' or info['dtype'] not in TORCH:
            continue
        b, e = info['data_offsets']
        dt = TORCH[info['dtype']]
        # frombuffer refuses an empty buffer, and wants a writable one.
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dt) if e > b else torch.empty(0, dtype=dt)
        t = t.reshape(info['shape'])
        if dt.is_floating_point:
            total = repr(float(t.double().sum()))
        else:
            total = str(sum(int(v) for v in t.reshape(-1).tolist()))
        out.append({'name': name, 'dtype': info['dtype'], 'shape': list(t.shape), 'sum': total})
    result['torch'] = out
    result['torch_version'] = torch.__version__
except ImportError as e:
    result['torch_skipped'] = str(e)
print(json.dumps(result))
`;

const missing = missingPythonModules(['numpy', 'safetensors', 'torch']);

const halfToNumber = (h: number) => {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
};

/** The sum the Python reader should print: exact integers, float64 sums of floats. */
function expectedSum(t: SafetensorsTensor): { exact?: string; approx?: number } {
  switch (t.dtype) {
    case 'F32':
    case 'F64':
      return { approx: [...t.data].reduce((a, b) => a + b, 0) };
    case 'F16':
      return { approx: [...t.data].reduce((a, b) => a + halfToNumber(b), 0) };
    case 'BF16':
      return { approx: [...t.data].reduce((a, b) => a + new Float32Array(new Uint32Array([b << 16]).buffer)[0], 0) };
    case 'I64':
    case 'U64':
      return { exact: [...t.data].reduce((a, b) => a + b, 0n).toString() };
    default:
      return { exact: [...t.data].reduce((a, b) => a + b, 0).toString() };
  }
}

interface PySummary {
  name: string;
  dtype: string;
  shape: number[];
  sum: string;
}

function compareSummaries(
  reader: string,
  got: PySummary[],
  tensors: Map<string, SafetensorsTensor>,
  sameOrder: boolean,
): void {
  if (sameOrder)
    assert.deepEqual(
      got.map((s) => s.name),
      [...tensors.keys()],
      `${reader}: names in header order`,
    );
  else assert.deepEqual(got.map((s) => s.name).sort(), [...tensors.keys()].sort(), `${reader}: names`);
  for (const s of got) {
    const t = tensors.get(s.name)!;
    assert.deepEqual(s.shape, t.shape, `${reader}: shape of ${s.name}`);
    const want = expectedSum(t);
    if (want.exact !== undefined) assert.equal(s.sum, want.exact, `${reader}: sum of ${s.name}`);
    else {
      const g = Number(s.sum);
      const w = want.approx!;
      assert.ok(Math.abs(g - w) <= 1e-9 * Math.abs(w) + 1e-12, `${reader}: sum of ${s.name}: ${g} vs ${w}`);
    }
  }
}

test(
  'interoperability: Python reads our file by the spec (numpy, safetensors and torch)',
  { skip: skipWhenMissing(missing) },
  async (t) => {
    requireTools(missing);
    const python = TEST_PYTHON;
    const tensors = new Map<string, SafetensorsTensor>([
      [
        'conv.weight',
        { dtype: 'F32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i - 9) / 7) },
      ],
      ['bn.running_var', { dtype: 'F64', shape: [2], data: new Float64Array([0.25, 1e-5]) }],
      ['lr', { dtype: 'F64', shape: [], data: new Float64Array([0.1]) }],
      ['step', { dtype: 'I64', shape: [], data: new BigInt64Array([2n ** 40n + 3n]) }],
      ['labels', { dtype: 'I32', shape: [4], data: new Int32Array([3, -1, 7, 2147483647]) }],
      ['image', { dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 255, 128, 1]) }],
      ['mask', { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) }],
      ['half', { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x3555]) }],
      ['brain', { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xc0a0]) }],
      ['i16', { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 5]) }],
      ['i8', { dtype: 'I8', shape: [2], data: new Int8Array([-128, 127]) }],
      ['u32', { dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) }],
      ['empty', { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }],
      ['0', { dtype: 'F32', shape: [1], data: new Float32Array([42]) }],
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'lmc-io-py-'));
    try {
      const file = path.join(dir, 'interop.safetensors');
      await writeSafetensorsFile(file, tensors, { framework: 'lmc-lab' });
      const r = spawnSync(python, ['-c', PYTHON_READER, file], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(r.status, 0, `${python} failed: ${r.stderr}`);
      const out = JSON.parse(r.stdout);
      compareSummaries('json+numpy', out.numpy, tensors, true);
      assert.deepEqual(out.metadata, { framework: 'lmc-lab' });
      assert.ok(out.safetensors, `safetensors did not read the file: ${out.safetensors_skipped}`);
      assert.deepEqual(out.safetensors_metadata, { framework: 'lmc-lab' });
      compareSummaries(
        'safetensors.numpy',
        out.safetensors,
        new Map([...tensors].filter(([, v]) => v.dtype !== 'BF16')),
        false,
      );
      assert.ok(out.torch, `torch did not read the file: ${out.torch_skipped}`);
      const torchable = new Map([...tensors].filter(([, v]) => !['U16', 'U32', 'U64'].includes(v.dtype)));
      compareSummaries(`torch ${out.torch_version}`, out.torch, torchable, true);
      t.diagnostic(`torch ${out.torch_version} (${python}) read all ${torchable.size} tensors`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
