/**
 * The loopback Slurm fixture itself: it comes up, runs a job, honours afterok and
 * kill-on-invalid-dep (on array tasks too, as the client reads their states), and goes away
 * leaving no daemon and no folder.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { slurmClient } from '../lib/cluster/slurm';
import { slurmMissing, startSlurm, type LoopbackSlurm } from './fixtures/slurm';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const missing = slurmMissing();
const skip = skipWhenMissing(missing);
let slurm: LoopbackSlurm;

before(async () => {
  if (missing === null) slurm = await startSlurm();
});
after(async () => slurm?.stop());

async function waitGone(ids: string[], seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (slurm.client('squeue', ['-h', '-j', ids.join(','), '-o', '%i']).trim() !== '') {
    if (Date.now() > deadline)
      throw new Error(`jobs ${ids.join(',')} still queued after ${seconds} s\n${slurm.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a loopback cluster runs a job that sees the submitter's environment and folder", { skip }, async () => {
  requireTools(missing);
  const out = path.join(slurm.dir, 'hello.txt');
  const id = slurm.client('sbatch', ['--parsable', '-o', '/dev/null', '--wrap', `echo "$SLURM_CONF" > ${out}`]).trim();
  await waitGone([id]);
  assert.equal(fs.readFileSync(out, 'utf8').trim(), slurm.env.SLURM_CONF);
});

test(
  'afterok chains jobs in order, and a failed input cancels its dependents (kill-on-invalid-dep)',
  { skip },
  async () => {
    requireTools(missing);
    const log = path.join(slurm.dir, 'chain.txt');
    const submit = (command: string, after?: string) =>
      slurm
        .client('sbatch', [
          '--parsable',
          '-o',
          '/dev/null',
          '--kill-on-invalid-dep=yes',
          ...(after ? [`--dependency=afterok:${after}`] : []),
          '--wrap',
          command,
        ])
        .trim();
    const a = submit(`echo a >> ${log}`);
    const b = submit(`echo b >> ${log}`, a);
    const fail = submit('exit 3', b);
    const never = submit(`echo never >> ${log}`, fail);
    await waitGone([a, b, fail, never]);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['a', 'b']);
    const state = slurm.client('squeue', ['-h', '-t', 'all', '-j', never, '-o', '%T']).trim();
    assert.equal(state, 'CANCELLED');
    assert.match(slurm.client('scontrol', ['show', 'job', '-o', fail]), /ExitCode=3:0/);
  },
);

test('stop() leaves no daemon and no folder behind', { skip }, async () => {
  requireTools(missing);
  const second = await startSlurm({ cpus: 1 });
  const pids = ['slurmctld.pid', 'slurmd.pid'].map((f) => Number(fs.readFileSync(path.join(second.dir, f), 'utf8')));
  const id = second.client('sbatch', ['--parsable', '-o', '/dev/null', '--wrap', 'sleep 300']).trim();
  assert.match(id, /^\d+$/);
  await second.stop();
  assert.equal(fs.existsSync(second.dir), false);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

test(
  'array tasks: each waits for exactly the tasks it names, and one cancelled before it started reads as cancelled',
  { skip },
  async () => {
    requireTools(missing);
    const client = slurmClient(slurm.env);
    const log = path.join(slurm.dir, 'tasks.txt');
    const array = (tasks: number, command: string, after?: string) =>
      client.sbatch([
        '--parsable',
        `--array=0-${tasks - 1}`,
        '-o',
        '/dev/null',
        '--kill-on-invalid-dep=yes',
        ...(after ? [`--dependency=afterok:${after}`] : []),
        `--wrap=${command}`,
      ]);
    const first = await array(2, `if [ "$SLURM_ARRAY_TASK_ID" = 1 ]; then exit 3; fi; echo first >> ${log}`);
    const onTask0 = await array(1, `echo after-task-0 >> ${log}`, `${first}_0`);
    const onTask1 = await array(1, `echo never >> ${log}`, `${first}_1`);
    await waitGone([`${first}_0`, `${first}_1`, `${onTask0}_0`, `${onTask1}_0`]);
    assert.deepEqual(fs.readFileSync(log, 'utf8').trim().split('\n'), ['first', 'after-task-0']);
    const states = await client.states([`${first}_1`, `${onTask0}_0`, `${onTask1}_0`]);
    assert.deepEqual(
      [...states.values()].map((s) => s.state),
      ['FAILED', 'COMPLETED', 'CANCELLED'],
    );
    assert.equal(states.get(`${onTask1}_0`)?.reason, 'DependencyNeverSatisfied');

    const held = await client.sbatch(['--parsable', '--hold', '--array=0-2', '-o', '/dev/null', '--wrap=true']);
    const single = await client.sbatch(['--parsable', '--hold', '--array=0', '-o', '/dev/null', '--wrap=true']);
    await client.cancel([`${held}_1`, `${single}_0`]);
    const after = await client.states([`${held}_0`, `${held}_1`, `${single}_0`, '999999_0']);
    assert.deepEqual(
      [...after.values()].map((s) => s.state),
      ['PENDING', 'CANCELLED', 'CANCELLED', 'GONE'],
      'a pending task cancelled leaves no line of its own; an unknown array is gone',
    );
    await client.cancel([`${held}_0`, `${held}_2`]);
  },
);
