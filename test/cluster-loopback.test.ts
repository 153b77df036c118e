/**
 * The loopback Slurm fixture itself: it comes up, runs a job, honours afterok and
 * kill-on-invalid-dep, and goes away leaving no daemon and no folder.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
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
