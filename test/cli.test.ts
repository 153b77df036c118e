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
  const run = spawnSync(process.execPath, [LMC, ...args], { encoding: 'utf8', env: { ...process.env, LMC_BACKEND: 'wasm', LMC_HOME: HOME, ...env } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("one changed pixel of the user's MNIST files is another result: lmc train trains again instead of answering from the store", () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-cli-data-'));
  try {
    writeIdxDataset(path.join(data, 'mnist'), { train: 120, test: 40 });
    const train = () => {
      const run = lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '5it', '--json'], { LMC_DATA_DIR: data });
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
  const run = lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '30it', '--set', 'dataOrderSeed=2', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line on stdout');
  const report = JSON.parse(lines[0]);
  for (const key of ['config', 'backend', 'steps', 'testAccuracy', 'testError', 'trainError', 'seconds']) assert.ok(key in report, key);
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
  const again = lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '30it', '--set', 'dataOrderSeed=2', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const cached = JSON.parse(again.stdout);
  assert.equal(cached.fromStore, true);
  assert.match(again.stderr, /found in the store/);
  for (const key of ['unit', 'weightsSha256', 'testAccuracy', 'trainError', 'steps']) assert.equal(cached[key], report[key], key);
  const text = lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '30it', '--set', 'dataOrderSeed=2']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /from the store: unit [0-9a-f]{12}/);

  // A shorter run is another unit: it never answers for the longer one, nor the longer for it.
  const shorter = JSON.parse(lmc(['train', '--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '20it', '--set', 'dataOrderSeed=2', '--json']).stdout);
  assert.equal(shorter.fromStore, false);
  assert.equal(shorter.steps, 20);
  assert.notEqual(shorter.unit, report.unit);
  assert.notEqual(shorter.weightsSha256, report.weightsSha256);
});

test('lmc train rejects bad input, naming the field and the value', () => {
  const cases: [string[], RegExp][] = [
    [['--config', 'resnet18'], /unknown preset "resnet18"; valid presets are lenet_mnist/],
    [['--config', 'lenet_mnist', '--set', 'lr=-0.5'], /lr = -0\.5 is invalid/],
    [['--config', 'lenet_mnist', '--set', 'batchSize=0'], /batchSize = 0 is invalid/],
    [['--config', 'lenet_mnist', '--set', 'schedule=cosine'], /schedule = "cosine" is invalid/],
    [['--config', 'lenet_mnist', '--set', 'learning_rate=1'], /--set "learning_rate": unknown key/],
    [['--config', 'lenet_mnist', '--steps', 'ten'], /"ten" is not a step/],
    [['--config', 'lenet_mnist', '--scale', 'huge'], /--scale huge: use one of paper, quick, smoke/],
    [[], /--config is required/],
    [['--config', 'lenet_mnist', '--checkpoint-every', '0'], /--checkpoint-every "0": give a whole number from 1 to 1,000,000,000/],
    [['--config', 'lenet_mnist', '--checkpoint-every', 'often'], /--checkpoint-every "often": give a whole number/],
    [['--config', 'lenet_mnist', '--set', 'lr=0x10'], /--set lr="0x10": lr is a decimal number/],
    [['--config', 'lenet_mnist\u200b'], /unknown preset "lenet_mnist\\u\{200b\}"; valid presets are lenet_mnist/],
    [['--config', '\ufefflenet_mnist'], /unknown preset "\\u\{feff\}lenet_mnist"/],
    [['--config', 'lenet_mnist', '--set', 'lr\u200b=0.1'], /--set "lr\\u\{200b\}": unknown key/],
    [['--config', 'lenet_mnist', '--set', 'lr=Infinity'], /--set lr="Infinity": lr is a decimal number/],
    [['--config', 'lenet_mnist', '--set', 'lr=-1'], /^lmc train: --set lr=-1: config: lr = -1 is invalid/m],
    [['--config', 'lenet_mnist', '--scale', 'smoke', '--steps', '100000it'], /--steps 100000it is step 100000, outside training/],
  ];
  for (const [args, message] of cases) {
    const run = lmc(['train', ...args]);
    assert.notEqual(run.code, 0, `${args.join(' ')} should fail`);
    assert.match(run.stderr, message);
  }
  // A value from the environment is blamed on the environment, not on a flag that was not given.
  const fromEnv = lmc(['train', '--config', 'lenet_mnist'], { LMC_SCALE: 'huge' });
  assert.equal(fromEnv.code, 1);
  assert.match(fromEnv.stderr, /the environment variable LMC_SCALE="huge": use one of paper, quick, smoke \(or unset LMC_SCALE\)/);
  assert.doesNotMatch(fromEnv.stderr, /--scale/);
});

test('lmc backend reports the backend; forcing one that is not installed says how to get it', () => {
  const ok = lmc(['backend']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^backend wasm: CPU \(wasm/);
  const gpu = lmc(['backend'], { LMC_BACKEND: 'gpu' });
  assert.equal(gpu.code, 1);
  assert.match(gpu.stderr, /@tensorflow\/tfjs-node-gpu/);
  const bogus = lmc(['backend'], { LMC_BACKEND: 'tpu' });
  assert.equal(bogus.code, 1);
  assert.match(bogus.stderr, /LMC_BACKEND.*tpu/);
  assert.equal(lmc(['frobnicate']).code, 2);
});
