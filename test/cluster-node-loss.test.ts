/**
 * A node lost mid-job, on a real Slurm (loopback, test/fixtures/slurm.ts): slurmd, the job's
 * slurmstepd and the job itself are killed while the unit trains; Slurm marks the node down and
 * requeues the job; once the node is back the job resumes from the unit's last checkpoint and the
 * submitter, which kept waiting, gets the bits of an uninterrupted local run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../lib/backend';
import { experimentContext, trunk, trunkCall, type UnitEvent } from '../lib/experiments';
import { SlurmExecutor } from '../lib/cluster/executor';
import { slurmClient } from '../lib/cluster/slurm';
import { readSubmission } from '../lib/cluster/files';
import { clusterFile } from './fixtures/slurm';
import { storeContents } from './fixtures/cluster';
import { lenet, tempStore } from './fixtures/experiments';

// A node that stops answering is down after 5 s (Slurm's default is 300 s).
const cluster = clusterFile({ extraConf: 'SlurmdTimeout=5\n' });
const { skip, until } = cluster;

before(() => initBackend('wasm'));

const parentOf = (pid: string) => spawnSync('ps', ['-o', 'ppid=', '-p', pid], { encoding: 'utf8' }).stdout.trim();

test(
  'a job whose node is lost mid-training is requeued and resumes from its checkpoint to the bits of a local run',
  { skip },
  async () => {
    cluster.requireSlurm();
    const config = lenet({ training: '3000it' });
    const store = tempStore();
    const executor = new SlurmExecutor({
      client: slurmClient(cluster.slurm.env),
      pollMs: 100,
      site: { extraArgs: ['--requeue'] },
    });
    const trains: UnitEvent[] = [];
    const ctx = experimentContext({
      store,
      executor,
      checkpointEvery: 50,
      onUnit: (e) => e.type === 'train' && trains.push(e),
    });
    const call = trunkCall(config, 1500);
    const [node] = await executor.submit(ctx, [call]);
    const done = ctx.run(call);
    const jobId = readSubmission(store.root, node.hash)!.jobId;
    await until('a checkpoint past step 100', async () => {
      const info = await store.show(`trunk/${node.hash}`).catch(() => null);
      return info && (info.checkpointStep ?? 0) >= 100 ? true : null;
    });
    // The job's own process (its batch script execs lmc), and the slurmstepd above it: both go with the node.
    const job = spawnSync('pgrep', ['-f', `unit run ${node.hash}`], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')[0];
    assert.match(job, /^\d+$/, "the job's process is found");
    const stepd = parentOf(job);
    cluster.slurm.killNode();
    for (const pid of [stepd, job]) process.kill(Number(pid), 'SIGKILL');
    await until('the job requeued', () =>
      /PENDING/.test(cluster.slurm.client('squeue', ['-h', '-j', jobId, '-o', '%T'])) ? true : null,
    );
    await cluster.slurm.startNode();
    // Slurm holds a requeued job back for two minutes, so that the returning node has cleaned up its
    // first attempt; the test lets it start sooner, once that is done.
    await new Promise((r) => setTimeout(r, 15_000));
    cluster.slurm.client('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now']);
    const result = await done.catch((e: Error) => {
      throw new Error(
        `${e.message}\n${cluster.slurm.logs()}\n${cluster.slurm.client('scontrol', ['show', 'job', '-o', jobId])}`,
      );
    });
    assert.equal(result.unit.computed, true);
    assert.equal(trains.length, 1, 'the killed attempt reported nothing; the requeued one trained once');
    assert.equal((trains[0] as UnitEvent & { via?: string }).via, 'checkpoint');
    assert.ok((trains[0].from ?? 0) >= 100, `resumed from step ${trains[0].from}`);
    assert.match(cluster.slurm.client('scontrol', ['show', 'job', '-o', jobId]), /Restarts=1/);

    const local = experimentContext({
      store: tempStore(),
      workers: 1,
    });
    await trunk(local, config, 1500);
    assert.deepEqual(
      await storeContents(store),
      await storeContents(local.store),
      'the same bits as an uninterrupted local run',
    );
  },
);
