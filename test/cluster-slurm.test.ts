/**
 * Experiments on a real Slurm (Debian's 22.05 on loopback, test/fixtures/slurm.ts): a smoke-scale
 * quick start submitted as one graph of jobs ends with exactly the units, file checksums and
 * tables of the same run on this machine.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { openStore } from '../lib/store';
import { experimentContext, quickstartCalls, quickstartPlan, runQuickstart, type UnitEvent } from '../lib/experiments';
import { SlurmExecutor, type JobEvent } from '../lib/cluster/executor';
import { slurmClient } from '../lib/cluster/slurm';
import { slurmMissing, startSlurm, type LoopbackSlurm } from './fixtures/slurm';
import { requireTools, skipWhenMissing } from './fixtures/tools';
import { storeContents } from './fixtures/cluster';
import { tempDir } from './fixtures/experiments';

const missing = slurmMissing();
const skip = skipWhenMissing(missing);
let slurm: LoopbackSlurm;

before(async () => {
  await initBackend('wasm');
  if (missing === null) slurm = await startSlurm();
});
after(async () => slurm?.stop());

const tables = (r: Awaited<ReturnType<typeof runQuickstart>>) => ({
  curves: r.instability.table.objects(),
  pairs: r.instability.pairs.objects(),
  imp: r.imp.table.objects(),
});

test('a smoke quick start on Slurm ends with the units, checksums and tables of a local run', { skip }, async () => {
  requireTools(missing);
  const plan = quickstartPlan('smoke', { ks: [0, 20], levels: 2 });
  const store = openStore({ root: path.join(tempDir(), 'store'), onEvent: () => undefined });
  const jobs: JobEvent[] = [];
  const executor = new SlurmExecutor({ client: slurmClient(slurm.env), pollMs: 100, onJob: (e) => jobs.push(e) });
  const events: UnitEvent[] = [];
  const ctx = experimentContext({ store, executor, onUnit: (e) => events.push(e) });
  const started = performance.now();
  const calls = await quickstartCalls(ctx, plan);
  const dag = await executor.submit(ctx, calls);
  const onCluster = await runQuickstart(ctx, plan);
  const seconds = (performance.now() - started) / 1000;
  console.log(`# ${dag.length} units as Slurm jobs in ${seconds.toFixed(1)} s`);

  const local = experimentContext({
    store: openStore({ root: path.join(tempDir(), 'store'), onEvent: () => undefined }),
    workers: 1,
  });
  const here = await runQuickstart(local, plan);
  assert.deepEqual(tables(onCluster), tables(here), 'the same tables');
  const files = await storeContents(store);
  assert.equal(files.length, dag.length);
  assert.deepEqual(files, await storeContents(local.store), 'the same units with the same file checksums');
  assert.equal(jobs.filter((j) => j.type === 'submitted').length, dag.length, 'every unit submitted once');
  assert.equal(jobs.filter((j) => j.type === 'failed').length, 0);
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
