/**
 * The commands on a real Slurm (loopback, test/fixtures/slurm.ts): `lmc quickstart --on slurm`
 * follows its jobs and prints the numbers and tables of a local run; `--detach` returns once
 * submitted and `lmc status` follows the units to done; `lmc cancel` cancels what is pending;
 * `lmc plan --dry-run` lists the jobs and submits nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clusterFile } from './fixtures/slurm';
import { tempDir } from './fixtures/experiments';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
const cluster = clusterFile();
const { skip, lmc } = cluster;

const QUICK = ['quickstart', '--scale', 'smoke', '--k', '0,20', '--levels', '2', '--export', 'csv', '--json'];

test('lmc quickstart --on slurm prints the numbers and writes the tables of a local run', { skip }, async () => {
  cluster.requireSlurm();
  const [localOut, clusterOut] = [tempDir(), tempDir()];
  const [here, there] = await Promise.all([
    lmc(tempDir(), [...QUICK, '--out', localOut]),
    lmc(tempDir(), [...QUICK, '--out', clusterOut, '--on', 'slurm']),
  ]);
  assert.equal(here.status, 0, here.stderr);
  assert.equal(there.status, 0, there.stderr);
  const numbers = (out: string) => {
    const { instability, imp } = JSON.parse(out) as { instability: unknown; imp: unknown };
    return { instability, imp };
  };
  assert.deepEqual(numbers(there.stdout), numbers(here.stdout));
  for (const name of ['instability-curves.csv', 'instability-pairs.csv', 'imp.csv']) {
    assert.equal(
      fs.readFileSync(path.join(clusterOut, name), 'utf8'),
      fs.readFileSync(path.join(localOut, name), 'utf8'),
      name,
    );
  }
});

test(
  '--detach returns once submitted; lmc status follows every unit to done; lmc plan lists the jobs and submits nothing',
  { skip },
  async () => {
    cluster.requireSlurm();
    const home = tempDir();
    const imp = ['imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--levels', '1', '--baselines'];
    const plan = await lmc(home, ['plan', ...imp, '--dry-run']);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /5 unit\(s\) to submit \(1 trunk, 2 imp-level, 2 copy\) as 4 job array\(s\)/);
    assert.match(
      plan.stdout,
      /\n4 +A4_0 +copy .*\n5 +A4_1 +copy /,
      "the level's two baselines: one array of two tasks",
    );
    assert.match(plan.stdout, /--array=0\n/);
    assert.match(plan.stdout, /--kill-on-invalid-dep=yes/);
    assert.equal(
      fs.existsSync(path.join(home, 'store', '.cluster', 'experiments')),
      false,
      'the plan submitted nothing',
    );

    const submitted = await lmc(home, [...imp, '--on', 'slurm', '--detach']);
    assert.equal(submitted.status, 0, submitted.stderr);
    const id = /as experiment (\S+);/.exec(submitted.stdout)?.[1];
    assert.ok(id, submitted.stdout + submitted.stderr);
    const deadline = Date.now() + 180_000;
    let units: { state: string; label: string }[] = [];
    for (;;) {
      const status = await lmc(home, ['status', id, '--json']);
      assert.equal(status.status, 0, status.stdout + status.stderr);
      units = (JSON.parse(status.stdout) as { units: typeof units }).units;
      if (units.every((u) => u.state === 'done')) break;
      assert.ok(Date.now() < deadline, `still not done: ${JSON.stringify(units)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.equal(units.length, 5);
    const text = await lmc(home, ['status']);
    assert.match(text.stdout, new RegExp(`experiment ${id}: lmc imp`));
    assert.match(text.stdout, /5 unit\(s\): 5 done/);
    // The same command again finds every unit it asks for in the store and submits nothing.
    const again = await lmc(home, [...imp, '--on', 'slurm']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /submitted 0 unit\(s\) as Slurm jobs \(4 already in the store\)/);
    assert.match(again.stdout, /0 units computed, 4 from the store/);
  },
);

test(
  'lmc cancel cancels every pending job of the latest experiment; lmc status then says so and exits 1',
  { skip },
  async () => {
    cluster.requireSlurm();
    const home = tempDir();
    // Held at submission: every job stays pending until cancelled.
    const imp = ['imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--levels', '1', '--on', 'slurm', '--detach'];
    const submitted = await lmc(home, [...imp, '--sbatch-arg=--hold']);
    assert.equal(submitted.status, 0, submitted.stderr);
    const cancelled = await lmc(home, ['cancel']);
    assert.equal(cancelled.status, 0, cancelled.stderr);
    assert.match(
      cancelled.stdout,
      /: cancelled 3 job\(s\) \(\d+_\d+, \d+_\d+, \d+_\d+\); finished units stay in the store/,
    );
    const status = await lmc(home, ['status']);
    assert.equal(status.status, 1);
    assert.match(status.stdout, /3 unit\(s\): 3 cancelled/);
    const again = await lmc(home, ['cancel']);
    assert.match(again.stdout, /cancelled 0 job\(s\)/);
  },
);

test('--on is checked, and --detach needs --on slurm', { skip }, async () => {
  cluster.requireSlurm();
  const bad = spawnSync(process.execPath, [LMC, 'imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--on', 'pbs'], {
    encoding: 'utf8',
    env: { ...process.env, LMC_HOME: tempDir() },
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--on pbs: use local or slurm/);
  const detached = spawnSync(
    process.execPath,
    [LMC, 'imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--detach'],
    { encoding: 'utf8', env: { ...process.env, LMC_HOME: tempDir() } },
  );
  assert.match(detached.stderr, /--detach applies to --on slurm/);
});
