/**
 * A notebook's context with the Slurm executor (real loopback Slurm, test/fixtures/slurm.ts): the
 * units run as jobs, and the cell's display follows them from the shared store, queued, running
 * with step and ETA, then done; a failed job shows its error and log.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { trunk } from '../lib/experiments';
import { slurmClient } from '../lib/cluster/slurm';
import { notebookContext } from '../lib/notebook/notebook-context';
import { boardRow } from '../lib/notebook/cluster-board';
import { PROGRESS_MIME, type ProgressBlock } from '../lib/io/wire';
import type { MimeBundle } from '../lib/display/bundle';
import { clusterFile } from './fixtures/slurm';
import { storeContents } from './fixtures/cluster';
import { lenet, tempStore } from './fixtures/experiments';
import { experimentContext } from '../lib/experiments/context';

const cluster = clusterFile();
const { skip } = cluster;

before(() => initBackend('wasm'));

test(
  'a notebook context on Slurm shows each job queued, running with its step, then done, in one display',
  { skip },
  async () => {
    cluster.requireSlurm();
    const updates: MimeBundle[] = [];
    const handle = { update: (bundle: MimeBundle) => void updates.push(bundle) };
    const store = tempStore();
    const ctx = notebookContext(handle, {
      store,
      checkpointEvery: 50,
      cluster: { client: slurmClient(cluster.slurm.env), pollMs: 100 },
    });
    const config = lenet({ training: '3000it' });
    const trained = await trunk(ctx, config, 1500);
    assert.equal(trained.k, 1500, 'the trunk came back from the store the job wrote');

    const blocks = updates.map((u) => (u[PROGRESS_MIME] as { blocks: ProgressBlock[] }).blocks);
    const seen = blocks.flat();
    assert.ok(seen.length > 0, 'the display was drawn');
    const label = seen[0].label;
    assert.match(label, /trunk/);
    // Queued or running when first drawn (how soon Slurm starts it decides which; boardRow's test covers queued).
    assert.equal(seen[0].state, 'running', `drawn before it ended: ${seen.map((b) => b.status).join(', ')}`);
    const running = seen.find((b) => b.state === 'running' && b.step > 0 && b.step < b.endStep);
    assert.ok(running, `a block mid-training: ${seen.map((b) => `${b.status} ${b.step}/${b.endStep}`).join(', ')}`);
    assert.equal(running.endStep, 1500);
    assert.match(running.details.join(' '), /step \d+\/1500.*job \d+/);
    const last = blocks[blocks.length - 1];
    assert.deepEqual(
      last.map((b) => [b.label, b.state]),
      [[label, 'done']],
      'the last drawing: the unit done',
    );
    assert.match(String(updates[updates.length - 1]['text/plain']), /trunk.*: done/);

    const local = experimentContext({
      store: tempStore(),
      workers: 1,
    });
    await trunk(local, config, 1500);
    assert.deepEqual(await storeContents(store), await storeContents(local.store), 'the bits of a local run');
  },
);

test("a board row gives a failed job's error and log, a pending job's reason; stored units are left out", () => {
  const base = { hash: 'h', kind: 'copy', label: 'copy k=4 pair=0', jobId: '12' };
  assert.equal(boardRow({ ...base, jobId: null, state: 'stored' }), null);
  assert.deepEqual(boardRow({ ...base, state: 'pending', reason: 'Dependency' }), {
    label: base.label,
    state: 'queued',
    detail: 'job 12, waiting: Dependency',
  });
  assert.deepEqual(boardRow({ ...base, state: 'cancelled', error: 'cancelled by Slurm', log: '/s/log-12.txt' }), {
    label: base.label,
    state: 'failed',
    detail: 'cancelled: cancelled by Slurm; log /s/log-12.txt',
  });
  assert.equal(boardRow({ ...base, state: 'failed' })!.detail, 'failed: no exit record');
});
