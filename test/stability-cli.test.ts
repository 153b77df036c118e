// `lmc instability` as a user runs it: the JSON report's fields and the errors for bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// The compiled CLI next to this compiled test, so the test runs whichever build it belongs to.
const MAIN = path.resolve(__dirname, '..', 'lib', 'cli', 'main.js');

function lmc(args: string[]) {
  const script = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const run = spawnSync(process.execPath, ['-e', script, ...args], { encoding: 'utf8', env: { ...process.env, LMC_BACKEND: 'wasm' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test('lmc instability --json: per k the instability mean and std on both splits, L2, endpoint accuracies and curves', () => {
  const run = lmc(['instability', '--config', 'lenet_mnist', '--scale', 'smoke', '--set', 'training=10it', '--k', '0,5it', '--alphas', '4', '--throughout', '5it', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line on stdout');
  const report = JSON.parse(lines[0]);
  assert.equal(report.bn, 'interpolate');
  assert.equal(report.alphas, 4);
  assert.equal(report.inits.length, 1, 'smoke scale: one initialization by default');
  assert.deepEqual(report.results.map((r: { k: number }) => r.k), [0, 5]);
  for (const r of report.results) {
    for (const split of ['test', 'train']) {
      assert.equal(typeof r.instability[split].mean, 'number');
      assert.equal(typeof r.instability[split].std, 'number');
      assert.ok(r.accuracy[split].mean > 0.5);
    }
    assert.ok(r.l2.mean > 0);
    assert.equal(r.curves.length, 4 * 2);
    assert.deepEqual(Object.keys(r.curves[0]).sort(), ['alpha', 'error', 'init', 'loss', 'pair', 'split']);
    assert.deepEqual(r.throughout.map((t: { step: number }) => t.step), r.k === 0 ? [5, 10] : [10]);
  }
});

test('lmc instability --sparse: IMP, random pruning and reinitialization subnetworks at the requested density', () => {
  for (const kind of ['imp', 'random-prune', 'reinit']) {
    const run = lmc(['instability', '--config', 'lenet_mnist', '--scale', 'smoke', '--set', 'training=10it', '--k', '5it', '--alphas', '3', '--sparse', kind, '--density', '0.8', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.sparse, kind);
    // One round of 20% (LeNet's output layer at 10%): just above 0.8 of the prunable weights.
    assert.ok(Math.abs(report.results[0].density - 0.8) < 0.005, `${kind}: density ${report.results[0].density}`);
    assert.ok(report.results[0].accuracy.test.mean > 0.5);
  }
});

test('lmc instability rejects bad flags, naming the flag and the value', () => {
  const cases: [string[], RegExp][] = [
    [['--config', 'lenet_mnist', '--bn', 'average'], /"average" is not a BatchNorm policy/],
    [['--config', 'lenet_mnist', '--alphas', '1'], /--alphas "1": give a whole number from 2 to 1,001, in decimal digits/],
    [['--config', 'lenet_mnist', '--alphas', '0,2'], /"2" is not an alpha in \[0, 1\]/],
    [['--config', 'lenet_mnist', '--alphas', '0,0x1'], /--alphas "0x1": not a decimal number/],
    [['--config', 'lenet_mnist', '--inits', '0'], /--inits "0": give a whole number from 1 to 100, in decimal digits/],
    // Bounds before work: refused at once, nothing allocated (1e9 inits once ran out of memory).
    [['--config', 'lenet_mnist', '--inits', '1e9'], /--inits "1e9": give a whole number from 1 to 100/],
    [['--config', 'lenet_mnist', '--inits', '1000000000'], /--inits "1000000000": give a whole number from 1 to 100/],
    [['--config', 'lenet_mnist', '--pairs', '0x10'], /--pairs "0x10": give a whole number from 1 to 100/],
    [['--config', 'lenet_mnist', '--pairs', 'Infinity'], /--pairs "Infinity"/],
    [['--config', 'lenet_mnist', '--pairs', ''], /--pairs "": give a whole number/],
    [['--config', 'lenet_mnist', '--alphas', '100000'], /--alphas "100000": give a whole number from 2 to 1,001/],
    [['--config', 'lenet_mnist', '--k', Array.from({ length: 65 }, (_, i) => i).join(',')], /--k: 65 values of k; give at most 64/],
    [['--config', 'lenet_mnist', '--sparse', 'magnitude'], /--sparse magnitude: use one of imp, random-prune, reinit/],
    [['--config', 'lenet_mnist', '--density', '0.5'], /--density applies to sparse networks/],
    [['--config', 'lenet_mnist', '--k', 'soon'], /"soon" is not a step/],
    [['--config', 'lenet_mnist', '--scale', 'smoke', '--k', '100000it'], /outside 0..40/],
  ];
  for (const [args, message] of cases) {
    const started = Date.now();
    const run = lmc(['instability', ...args]);
    assert.notEqual(run.code, 0, `${args.join(' ')} should fail`);
    assert.match(run.stderr, message);
    // Only a k past the end of training needs the dataset (T); everything else is refused before the backend starts.
    if (!args.includes('100000it')) assert.equal(run.stdout, '', `${args.join(' ')}: refused before any work`);
    assert.ok(Date.now() - started < 20_000, `${args.join(' ')}: refused at once, not after ${Date.now() - started} ms`);
  }
});
