// `lmc instability` as a user runs it: the JSON report's fields and the errors for bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// The compiled CLI next to this compiled test, so the test runs whichever build it belongs to.
const MAIN = path.resolve(__dirname, '..', 'lib', 'cli', 'main.js');

function lmc(args: string[]) {
  const script = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const run = spawnSync(process.execPath, ['-e', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LMC_BACKEND: 'wasm' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('lmc instability --json: per k, instability mean and std on both splits, L2, endpoint accuracies, curves', () => {
  const run = lmc([
    'instability',
    '--config',
    'lenet_mnist',
    '--scale',
    'smoke',
    '--set',
    'training=10it',
    '--k',
    '0,5it',
    '--alphas',
    '4',
    '--throughout',
    '5it',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line on stdout');
  const report = JSON.parse(lines[0]);
  assert.equal(report.bn, 'interpolate');
  assert.equal(report.alphas, 4);
  assert.equal(report.inits.length, 1, 'smoke scale: one initialization by default');
  assert.deepEqual(
    report.results.map((r: { k: number }) => r.k),
    [0, 5],
  );
  for (const r of report.results) {
    for (const split of ['test', 'train']) {
      assert.equal(typeof r.instability[split].mean, 'number');
      assert.equal(typeof r.instability[split].std, 'number');
      assert.ok(r.accuracy[split].mean > 0.5);
    }
    assert.ok(r.l2.mean > 0);
    assert.equal(r.curves.length, 4 * 2);
    assert.deepEqual(Object.keys(r.curves[0]).sort(), ['alpha', 'error', 'init', 'loss', 'pair', 'split']);
    assert.deepEqual(
      r.throughout.map((t: { step: number }) => t.step),
      r.k === 0 ? [5, 10] : [10],
    );
  }
});

test('lmc instability --sparse: IMP, random pruning and reinitialization subnetworks at the requested density', () => {
  for (const kind of ['imp', 'random-prune', 'reinit']) {
    const run = lmc([
      'instability',
      '--config',
      'lenet_mnist',
      '--scale',
      'smoke',
      '--set',
      'training=10it',
      '--k',
      '5it',
      '--alphas',
      '3',
      '--sparse',
      kind,
      '--density',
      '0.8',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.sparse, kind);
    // One round of 20% (LeNet's output layer at 10%): just above 0.8 of the prunable weights.
    assert.ok(Math.abs(report.results[0].density - 0.8) < 0.005, `${kind}: density ${report.results[0].density}`);
    assert.ok(report.results[0].accuracy.test.mean > 0.5);
  }
});
