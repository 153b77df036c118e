// `lmc imp` as a user runs it: one JSON object with a levels array, saved levels that load back
// as a starting mask, and non-zero exits naming the field for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { tf } from '../lib/tf';
import { loadCheckpoint } from '../lib/train/checkpoint';
import { disposeState } from '../lib/train/state';

// The CLI compiled beside this test (whatever folder the build wrote), not necessarily dist/.
const MAIN = path.resolve(__dirname, '..', 'lib', 'cli', 'main.js');

function lmc(args: string[], env: Record<string, string> = {}) {
  const script =
    `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1))` + '.then((code) => { process.exitCode = code; })';
  const run = spawnSync(process.execPath, ['-e', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LMC_BACKEND: 'wasm', ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const smoke = ['--config', 'lenet_mnist', '--scale', 'smoke', '--set', 'training=12it'];

test('lmc imp --json prints an object of levels (density, 3 accuracies); --save writes loadable levels', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-imp-'));
  const run = lmc(['imp', ...smoke, '--rewind', '3it', '--levels', '2', '--baselines', '--json', '--save', dir]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line on stdout');
  const report = JSON.parse(lines[0]);
  assert.equal(report.rewindTo, 3);
  assert.equal(report.mode, 'iterative');
  assert.equal(report.optimizerStateAtK, 'reset');
  assert.equal(report.levels.length, 3);
  for (const item of report.levels) {
    for (const key of ['level', 'density', 'testAccuracy', 'randomPruneAccuracy', 'randomReinitAccuracy'])
      assert.ok(key in item, key);
  }
  assert.equal(report.levels[0].density, 1);
  assert.equal(report.levels[0].randomPruneAccuracy, null);
  assert.ok(report.levels[2].density < report.levels[1].density && report.levels[1].density < 1);
  assert.ok(report.levels[2].randomReinitAccuracy > 0 && report.levels[2].randomPruneAccuracy > 0);
  assert.deepEqual(Object.keys(report.levels[1].remaining), ['fc1.kernel', 'fc2.kernel', 'fc.kernel']);

  await initBackend('wasm');
  const saved = await loadCheckpoint(path.join(dir, 'level-2'));
  assert.equal(saved.state.step, 12);
  assert.deepEqual([...saved.masks!.keys()], ['fc1.kernel', 'fc2.kernel', 'fc.kernel']);
  const kept = [...saved.masks!.values()].reduce((a, m) => a + tf.sum(m).dataSync()[0], 0);
  assert.equal(kept / 266200, report.levels[2].density);
  disposeState(saved.state);
  for (const m of saved.masks!.values()) m.dispose();
  assert.equal((await loadCheckpoint(path.join(dir, 'rewind'))).state.step, 3);

  // A saved level's mask is a valid starting mask: one more round from it.
  const resumed = lmc(['imp', ...smoke, '--levels', '1', '--mask', path.join(dir, 'level-2'), '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const levels = JSON.parse(resumed.stdout).levels;
  assert.equal(levels[0].density, report.levels[2].density);
  assert.ok(levels[1].density < levels[0].density);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('lmc imp runs store units: a second run of the same command computes nothing and prints the same levels', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-imp-home-'));
  const args = ['imp', ...smoke, '--levels', '1', '--baselines', '--json'];
  const [first, second] = [lmc(args, { LMC_HOME: home }), lmc(args, { LMC_HOME: home })].map((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      levels: unknown[];
      units: { computed: number; fromStore: number; trainings: number };
    };
  });
  assert.deepEqual(
    first.units,
    { computed: 5, fromStore: 0, trainings: 4 },
    'trunk (k = 0, no training), two levels, two baselines',
  );
  assert.deepEqual(
    second.units,
    { computed: 0, fromStore: 4, trainings: 0 },
    'the two levels and the two baselines found, nothing trained',
  );
  assert.deepEqual(second.levels, first.levels);
});

test('lmc help imp documents --rewind', () => {
  assert.match(lmc(['help', 'imp']).stdout, /--rewind <step>/);
});
