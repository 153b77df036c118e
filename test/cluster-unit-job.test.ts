/**
 * `lmc unit run <hash>`: a cluster job computes exactly the one unit its submitter wrote a call
 * for, into the shared store, with the bits a local run computes; a missing input fails it,
 * named, and computes nothing; it always leaves an exit record.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import {
  copy,
  copyCall,
  experimentContext,
  trunkCall,
  type UnitCall,
  type ExperimentContext,
} from '../lib/experiments';
import { callSetup } from '../lib/experiments/context';
import { unitDefinition } from '../lib/experiments/registry';
import { readExit, unitJobDir, writeJobCall } from '../lib/cluster/files';
import { slurmJobId } from '../lib/cluster/unit-job';
import { arrayTaskHash } from '../lib/cli/unit';
import { storeContents } from './fixtures/cluster';
import { lenet, tempDir, tempStore } from './fixtures/experiments';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');

before(async () => {
  await initBackend('wasm');
});

/** Writes the call file of `call` into ctx's store as a submitter does; resolves to the unit's hash. */
async function submitCall(ctx: ExperimentContext, call: UnitCall): Promise<string> {
  const plan = unitDefinition(call).plan(ctx, call.spec);
  const hash = ctx.store.identify(plan.kind, plan.key).hash;
  const setup = callSetup(ctx, call, 'wasm');
  assert.ok(setup, 'the dataset is loaded by name');
  await writeJobCall(ctx.store.root, { kind: plan.kind, hash, label: plan.label, call, setup });
  return hash;
}

/** `lmc unit run` as a job runs it: job `jobId`, or task `index` of array `jobId` when given several hashes. */
function unitRun(root: string, hashes: string | string[], jobId: string, index?: number) {
  const array = index === undefined ? {} : { SLURM_ARRAY_JOB_ID: jobId, SLURM_ARRAY_TASK_ID: String(index) };
  return spawnSync(process.execPath, [LMC, 'unit', 'run', ...[hashes].flat(), '--store', root], {
    encoding: 'utf8',
    env: { ...process.env, SLURM_JOB_ID: jobId, LMC_BACKEND: 'wasm', ...array },
  });
}

test(
  'lmc unit run computes one unit whose inputs are stored, with the bits of a local run; a missing input fails ' +
    'it, named',
  async () => {
    const config = lenet();
    const spec = { config: { ...config, dataOrderSeed: 5 }, k: 4, trunkSeed: config.dataOrderSeed };
    const clusterStore = tempStore();
    const ctx = experimentContext({ store: clusterStore, workers: 1 });
    const copyHash = await submitCall(ctx, copyCall(spec));
    const trunkHash = await submitCall(ctx, trunkCall(config, 4));

    const early = unitRun(clusterStore.root, copyHash, '7');
    assert.equal(early.status, 1, early.stdout + early.stderr);
    assert.match(early.stderr, new RegExp(`needs trunk k=4 \\(trunk/${trunkHash}\\), which the store at .* lacks`));
    const failed = readExit(clusterStore.root, copyHash, '7');
    assert.equal(failed?.ok, false);
    assert.match(failed?.error ?? '', /a unit job computes one unit only/);
    assert.deepEqual(await storeContents(clusterStore), [], 'nothing was computed');

    // Tasks 0 and 1 of one array (as if the trunk and the copy could share one): each runs the hash at its index.
    for (const [index, hash, job] of [
      [0, trunkHash, '8_0'],
      [1, copyHash, '8_1'],
    ] as const) {
      const run = unitRun(clusterStore.root, [trunkHash, copyHash], '8', index);
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`unit ${hash} computed`));
      const exit = readExit(clusterStore.root, hash, job);
      assert.equal(exit?.ok, true);
      assert.equal(exit?.computed, true);
      assert.equal(exit?.events.filter((e) => e.type === 'train').length, 1, 'it trained its own unit once');
    }
    assert.equal((await storeContents(clusterStore)).length, 2, 'the trunk and the copy, nothing else');
    assert.ok(fs.existsSync(path.join(unitJobDir(clusterStore.root, copyHash), 'call.json')));

    const again = unitRun(clusterStore.root, copyHash, '10');
    assert.equal(again.status, 0);
    assert.equal(
      readExit(clusterStore.root, copyHash, '10')?.computed,
      false,
      'a stored unit is found, not recomputed',
    );

    const local = experimentContext({
      store: tempStore(),
      workers: 1,
    });
    await copy(local, spec);
    assert.deepEqual(
      await storeContents(clusterStore),
      await storeContents(local.store),
      'the same units with the same file checksums',
    );
  },
);

test('lmc unit run names a hash without a call, and a malformed hash', async () => {
  const root = path.join(tempDir(), 'store');
  const hash = 'a'.repeat(64);
  const run = unitRun(root, hash, '1');
  assert.equal(run.status, 1);
  assert.match(run.stderr, /no unit call at .*call\.json; a submitter writes it/);
  const bad = spawnSync(process.execPath, [LMC, 'unit', 'run', 'xyz'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unit hash "xyz" is not 64 hex digits/);
  const outside = unitRun(root, [hash, 'b'.repeat(64)], '3');
  assert.equal(outside.status, 1);
  assert.match(
    outside.stderr,
    /got 2 hashes and SLURM_ARRAY_TASK_ID=\(unset\); .* task 0 to 1 .* outside one, give one/,
  );
  const beyond = unitRun(root, [hash, 'b'.repeat(64)], '3', 2);
  assert.match(beyond.stderr, /SLURM_ARRAY_TASK_ID=2; /);
});

test("a job's id is its array task's, as squeue names it; lmc unit run picks the hash at the task's index", () => {
  assert.equal(slurmJobId({ SLURM_JOB_ID: '41', SLURM_ARRAY_JOB_ID: '40', SLURM_ARRAY_TASK_ID: '1' }), '40_1');
  assert.equal(slurmJobId({ SLURM_JOB_ID: '41' }), '41');
  assert.equal(slurmJobId({}), null);
  assert.equal(arrayTaskHash(['a', 'b', 'c'], '2'), 'c');
  assert.equal(arrayTaskHash(['a'], undefined), 'a', 'one hash needs no task');
  assert.throws(() => arrayTaskHash(['a', 'b'], '-1'), /SLURM_ARRAY_TASK_ID=-1/);
  assert.throws(() => arrayTaskHash(['a', 'b'], '1.5'), /SLURM_ARRAY_TASK_ID=1\.5/);
});
