// The `lmc` command as a user runs it: JSON output, exit codes and error messages.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeIdxDataset } from './data-fixtures';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
// `lmc train` keeps its runs in the store: a fresh one per test file, never the user's ~/.lmc.
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-cli-test-'));
after(() => fs.rmSync(HOME, { recursive: true, force: true }));

function lmc(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [LMC, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LMC_BACKEND: 'wasm', LMC_HOME: HOME, ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("one changed pixel in the user's MNIST files is another result: lmc train trains anew, not from the store", () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-cli-data-'));
  try {
    writeIdxDataset(path.join(data, 'mnist'), { train: 120, test: 40 });
    const train = () => {
      const run = lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '5it', '--json'], {
        LMC_DATA_DIR: data,
      });
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as { fromStore: boolean; unit: string };
    };
    const first = train();
    assert.equal(train().fromStore, true, 'unchanged files: answered from the store');
    // The last pixel of the last training image, well past any sample a fingerprint might take.
    const file = path.join(data, 'mnist', 'train-images-idx3-ubyte');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(file, bytes);
    const changed = train();
    assert.equal(changed.fromStore, false, 'a changed image must not be answered from the store');
    assert.notEqual(changed.unit, first.unit);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('lmc train --json prints one object with config, backend, steps, accuracy, errors and seconds', () => {
  const run = lmc([
    'train',
    '--config',
    'lenet_mnist',
    '--scale',
    'smoke',
    '--steps',
    '30it',
    '--set',
    'dataOrderSeed=2',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line on stdout');
  const report = JSON.parse(lines[0]);
  for (const key of ['config', 'backend', 'steps', 'testAccuracy', 'testError', 'trainError', 'seconds'])
    assert.ok(key in report, key);
  assert.equal(report.backend, 'wasm');
  assert.equal(report.steps, 30);
  assert.equal(report.config.dataOrderSeed, 2);
  assert.equal(report.dataset, 'MNIST subset (10k digits)');
  assert.ok(Math.abs(report.testAccuracy + report.testError - 1) < 1e-12);
  assert.ok(report.testAccuracy > 0.5, `30 Adam steps should beat chance, got ${report.testAccuracy}`);
  assert.equal(report.fromStore, false);
  assert.match(report.unit, /^[0-9a-f]{64}$/);
  assert.match(report.weightsSha256, /^[0-9a-f]{64}$/);

  // The same request again answers from the store, with the same result and no training.
  const again = lmc([
    'train',
    '--config',
    'lenet_mnist',
    '--scale',
    'smoke',
    '--steps',
    '30it',
    '--set',
    'dataOrderSeed=2',
    '--json',
  ]);
  assert.equal(again.code, 0, again.stderr);
  const cached = JSON.parse(again.stdout);
  assert.equal(cached.fromStore, true);
  assert.match(again.stderr, /found in the store/);
  for (const key of ['unit', 'weightsSha256', 'testAccuracy', 'trainError', 'steps'])
    assert.equal(cached[key], report[key], key);
  const text = lmc([
    'train',
    '--config',
    'lenet_mnist',
    '--scale',
    'smoke',
    '--steps',
    '30it',
    '--set',
    'dataOrderSeed=2',
  ]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /from the store: unit [0-9a-f]{12}/);

  // A shorter run is another unit: it never answers for the longer one, nor the longer for it.
  const shorter = JSON.parse(
    lmc([
      'train',
      '--config',
      'lenet_mnist',
      '--scale',
      'smoke',
      '--steps',
      '20it',
      '--set',
      'dataOrderSeed=2',
      '--json',
    ]).stdout,
  );
  assert.equal(shorter.fromStore, false);
  assert.equal(shorter.steps, 20);
  assert.notEqual(shorter.unit, report.unit);
  assert.notEqual(shorter.weightsSha256, report.weightsSha256);
});

test('lmc backend reports the backend', () => {
  const ok = lmc(['backend']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^backend wasm: CPU \(wasm/);
});
