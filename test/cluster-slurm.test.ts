/**
 * Experiments on a real Slurm (Debian's 22.05 on loopback, test/fixtures/slurm.ts): a smoke-scale
 * quick start submitted as one graph of jobs ends with exactly the units, file checksums and
 * tables of the same run on this machine.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { initBackend } from '../lib/backend';
import { experimentContext, quickstartCalls, quickstartPlan, runQuickstart, type UnitEvent } from '../lib/experiments';
import { SlurmExecutor, type JobEvent } from '../lib/cluster/executor';
import { slurmClient } from '../lib/cluster/slurm';
import { jobLogFile } from '../lib/cluster/files';
import { arrayOf } from '../lib/cluster/arrays';
import { clusterFile } from './fixtures/slurm';
import { storeContents } from './fixtures/cluster';
import { tempStore } from './fixtures/experiments';

const cluster = clusterFile();
const { skip } = cluster;

before(() => initBackend('wasm'));

const tables = (r: Awaited<ReturnType<typeof runQuickstart>>) => ({
  curves: r.instability.table.objects(),
  pairs: r.instability.pairs.objects(),
  imp: r.imp.table.objects(),
});

test('a smoke quick start on Slurm ends with the units, checksums and tables of a local run', { skip }, async () => {
  cluster.requireSlurm();
  const plan = quickstartPlan('smoke', { ks: [0, 20], levels: 2 });
  const store = tempStore();
  const jobs: JobEvent[] = [];
  const executor = new SlurmExecutor({
    client: slurmClient(cluster.slurm.env),
    pollMs: 100,
    onJob: (e) => jobs.push(e),
  });
  const events: UnitEvent[] = [];
  const ctx = experimentContext({ store, executor, onUnit: (e) => events.push(e) });
  const started = performance.now();
  const calls = await quickstartCalls(ctx, plan);
  const dag = await executor.submit(ctx, calls);
  const onCluster = await runQuickstart(ctx, plan);
  const seconds = (performance.now() - started) / 1000;
  console.log(`# ${dag.length} units as Slurm array tasks in ${seconds.toFixed(1)} s`);

  const local = experimentContext({
    store: tempStore(),
    workers: 1,
  });
  const here = await runQuickstart(local, plan);
  assert.deepEqual(tables(onCluster), tables(here), 'the same tables');
  const files = await storeContents(store);
  assert.equal(files.length, dag.length);
  assert.deepEqual(files, await storeContents(local.store), 'the same units with the same file checksums');
  assert.equal(jobs.filter((j) => j.type === 'submitted').length, dag.length, 'every unit submitted once');
  assert.equal(jobs.filter((j) => j.type === 'failed').length, 0);
  const submitted = jobs.filter((j) => j.type === 'submitted');
  const arrays = new Set(submitted.map((j) => arrayOf(j.jobId)));
  assert.ok(arrays.size < submitted.length, `units of one kind with the same inputs share arrays (${arrays.size})`);
  for (const job of submitted)
    assert.match(
      fs.readFileSync(jobLogFile(store.root, job.jobId), 'utf8'),
      new RegExp(`unit ${job.hash} computed`),
      `task ${job.jobId} logged its own unit`,
    );
  // The experiment asks for its pairs, levels and baselines; their trunks and copies are the jobs' inputs.
  assert.equal(
    new Set(events.filter((e) => e.type === 'done').map((e) => e.hash)).size,
    calls.length,
    'each unit asked for reported computed',
  );
  assert.ok(
    events.some((e) => e.type === 'train'),
    "the jobs' trainings reported",
  );
});
