// The benchmarks run and report what they claim (not how fast: timings are never tested): the
// training-step bench counts tensors across its leak-check steps and reports memory; the
// interpolation bench evaluates the path without leaking a tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const BENCH = path.resolve(__dirname, '..', 'bench');
const run = (script: string, args: string[]) => {
  const r = spawnSync(process.execPath, [path.join(BENCH, script), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>[];
};

test('npm run bench: a LeNet row with its leak check (tensor count unchanged over the steps) and memory', () => {
  const [row] = run('train-step.js', [
    '--models',
    'lenet',
    '--backends',
    'wasm',
    '--steps',
    '3',
    '--leak-steps',
    '40',
    '--json',
  ]);
  assert.equal(row.model, 'lenet_300_100');
  assert.equal(row.backend, 'wasm');
  assert.equal(row.steps, 2 + 40);
  assert.equal(row.tensorGrowth, 0);
  assert.ok(
    (row.tensorMiB as number) > 1 && (row.peakRssMiB as number) > (row.tensorMiB as number),
    JSON.stringify(row),
  );
  assert.ok((row.msPerStep as number) > 0);
});

test('npm run bench:interpolate: the 30-alpha path on the embedded digits leaks no tensor', () => {
  const [row] = run('interpolate.js', ['--backends', 'wasm', '--alphas', '3', '--repeats', '1', '--json']);
  assert.deepEqual([row.backend, row.alphas, row.images, row.tensorGrowth], ['wasm', 3, 10000, 0]);
  assert.ok((row.seconds as number) > 0);
});
