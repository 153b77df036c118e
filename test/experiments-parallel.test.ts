// Units on worker threads (LMC_WORKERS): a pair, a sweep, sparse sweeps and an IMP run with
// baselines computed on two workers equal a serial run bit for bit (same units, same files, same
// tables), train each unit once, and deliver every training step to the caller's progress
// callbacks; errors from workers keep their message; a callback that reads the model is told why
// it cannot; LMC_WORKERS is checked; another thread's lock is never taken for a stale one.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { TrainingCancelled } from '../lib/train/trainer';
import { HeldLock, inspectLock, staleReason, DEFAULT_LOCK_TIMING, PROCESS_ID } from '../lib/store/lock';
import {
  impRun,
  instabilityPair,
  instabilitySweep,
  sparseSweep,
  storeMask,
  throughoutSweep,
  defaultWorkers,
  type UnitEvent,
} from '../lib/experiments';
import { createModel } from '../lib/models';
import { tf } from '../lib/tf';
import { StoreError, type Store } from '../lib/store';
import { unitDir } from '../lib/store/layout';
import { counted, lenet, tempDir } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

/** Every finished unit of a store with the checksums of its files. */
async function contents(store: Store): Promise<string[]> {
  const units = await store.list();
  return units
    .map((u) => {
      const manifest = JSON.parse(
        fs.readFileSync(path.join(unitDir(store.root, u.kind, u.hash), 'manifest.json'), 'utf8'),
      ) as { files: Record<string, unknown> };
      return `${u.kind}/${u.hash} ${JSON.stringify(manifest.files)}`;
    })
    .sort();
}

const computed = (events: UnitEvent[]) =>
  events
    .filter((e) => e.type !== 'hit')
    .map((e) => `${e.type} ${e.kind}/${e.hash}`)
    .sort();
const found = (events: UnitEvent[]) =>
  events
    .filter((e) => e.type === 'hit')
    .map((e) => `${e.kind}/${e.hash}`)
    .sort();

test('a pair, a sweep, IMP with baselines: 2 workers equal one thread bit for bit; each unit trains once', async () => {
  const config = lenet({ training: '16it' });
  const runs = [];
  for (const workers of [1, 2]) {
    const run = counted({ workers });
    const pair = await instabilityPair(run.ctx, { config, k: 4, pair: 0, alphas: 5 });
    const sweep = await instabilitySweep(run.ctx, config, { k: [0, 4, 8], inits: 2, pairs: 1, alphas: 5 });
    const imp = await impRun(run.ctx, config, { levels: 2, baselines: true });
    runs.push({
      ...run,
      pair: await pair.curve(),
      summary: pair.summary,
      sweep: sweep.pairs.objects(),
      imp: imp.table.objects(),
      files: await contents(run.ctx.store),
    });
  }
  const [serial, parallel] = runs;
  assert.deepEqual(parallel.summary, serial.summary);
  assert.deepEqual(parallel.pair, serial.pair);
  assert.deepEqual(parallel.sweep, serial.sweep);
  assert.deepEqual(parallel.imp, serial.imp);
  assert.ok(serial.files.length > 20, `only ${serial.files.length} units`);
  assert.deepEqual(parallel.files, serial.files, 'the same units with the same file checksums');
  // Every unit started, trained and committed once, as serially; every step reached the callbacks.
  assert.deepEqual(computed(parallel.events), computed(serial.events));
  assert.equal(parallel.steps.count, serial.steps.count);
  // The units found in the store are the ones a serial run finds. How often each is found depends on
  // which requests of a unit overlap while a worker computes it, so the units are compared, not the counts.
  assert.deepEqual([...new Set(found(parallel.events))], [...new Set(found(serial.events))]);
});

test('sparseSweep on worker threads equals the serial one', async () => {
  const config = lenet({ training: '12it' });
  const tables = [];
  for (const workers of [1, 2]) {
    const { ctx } = counted({ workers });
    const result = await sparseSweep(ctx, config, { levels: 1, k: [0, 4], inits: 2, pairs: 1, alphas: 3 });
    tables.push({
      pairs: result.pairs.objects(),
      accuracy: result.accuracy.objects(),
      files: await contents(ctx.store),
    });
  }
  assert.deepEqual(tables[1], tables[0]);
});

test('progress callbacks on workers see step, loss and config; reading the model names LMC_WORKERS', async () => {
  const seen: { step: number; loss: number }[] = [];
  const { ctx } = counted({
    workers: 2,
    callbacks: () => [
      {
        everySteps: 4,
        onStep: (s) => {
          seen.push({ step: s.step, loss: s.loss() });
        },
      },
    ],
  });
  await instabilityPair(ctx, { config: lenet(), k: 0, pair: 0, alphas: 3 });
  assert.deepEqual(
    seen.map((s) => s.step).sort((a, b) => a - b),
    [4, 4, 8, 8, 12, 12],
  );
  assert.ok(seen.every((s) => Number.isFinite(s.loss) && s.loss > 0));

  const reader = counted({
    workers: 2,
    callbacks: () => [
      {
        atEnd: true,
        onStep: (s) => {
          void s.model;
        },
      },
    ],
  });
  await assert.rejects(
    instabilityPair(reader.ctx, { config: lenet(), k: 0, pair: 1, alphas: 3 }),
    /the model is not available .*LMC_WORKERS=2.*LMC_WORKERS=1/s,
  );
});

test('an error in a worker reaches the caller with its message and the unit it was computing', async () => {
  const { ctx } = counted({ workers: 2 });
  // A stored mask of the wrong shape for a real weight: found in this thread, refused where a copy trains under it.
  const model = createModel('lenet_300_100', { seed: 0 });
  const name = [...model.params.keys()][0];
  model.dispose();
  const stored = await storeMask(ctx, new Map([[name, tf.ones([3, 3])]]));
  await assert.rejects(
    instabilityPair(ctx, { config: lenet(), k: 0, pair: 0, alphas: 3, mask: stored }),
    (e: Error) => {
      assert.match(e.message, /while computing copy k=0 order=\d+ on a worker thread/);
      assert.match(e.message, /LMC_WORKERS=1/);
      return true;
    },
  );
});

test('a mask missing from the store fails in this thread before anything trains', async () => {
  const { ctx, events } = counted({ workers: 2 });
  const missing = { imp: '0'.repeat(64) };
  await assert.rejects(
    instabilityPair(ctx, { config: lenet(), k: 0, pair: 0, alphas: 3, mask: missing }),
    /imp-level unit 000000000000 is not finished/,
  );
  assert.deepEqual(events, []);
});

test('LMC_WORKERS: default one per core; a malformed value is an error that names it and the fix', () => {
  assert.equal(defaultWorkers({ LMC_WORKERS: '3' }), 3);
  assert.equal(defaultWorkers({}), Math.max(1, os.availableParallelism()), 'unset: one worker per core');
  for (const raw of ['0', '-1', '1.5', 'many']) {
    assert.throws(
      () => defaultWorkers({ LMC_WORKERS: raw }),
      new RegExp(
        `the environment variable LMC_WORKERS="${raw.replace('.', '\\.')}": give a whole number from 1 to 256`,
      ),
    );
  }
});

test("another thread's lock in this process is live; one with this pid from an earlier process is stale", async () => {
  const dir = tempDir();
  const file = path.join(dir, 'unit.lock');
  const lock = await HeldLock.tryAcquire(file, 'test');
  assert.ok(lock);
  try {
    const held = await inspectLock(file);
    // Fails (rather than skipping what follows) when the lock is not held or has no owner.
    if (held.state !== 'held' || !held.owner) assert.fail(`the lock just taken reads as ${JSON.stringify(held)}`);
    assert.equal(held.owner.process, PROCESS_ID);
    const now = Date.now();
    // Another thread: same pid and process identity, a token this thread never issued.
    const otherThread = { ...held, owner: { ...held.owner, token: 'another-thread' } };
    assert.equal(staleReason(otherThread, now, DEFAULT_LOCK_TIMING, now), null);
    const earlierProcess = { ...held, owner: { ...held.owner, token: 'earlier', process: `${process.pid}:0000` } };
    assert.match(staleReason(earlierProcess, now, DEFAULT_LOCK_TIMING, now) ?? '', /earlier process/);
  } finally {
    await lock.release();
  }
});

test('throughoutSweep on worker threads equals the serial one', async () => {
  const config = lenet({ training: '12it' });
  const results = [];
  for (const workers of [1, 2]) {
    const { ctx } = counted({ workers });
    const r = await throughoutSweep(ctx, config, {
      k: [0, 4],
      inits: 2,
      pairs: 1,
      alphas: 3,
      throughout: { everySteps: 6 },
    });
    results.push({ pairs: r.pairs.objects(), distances: r.distances.objects(), files: await contents(ctx.store) });
  }
  assert.deepEqual(results[1], results[0]);
});

test('cancelling a parallel pair stops its workers as in one thread; a rerun resumes to the serial bits', async () => {
  const config = lenet({ training: '300it' });
  const controller = new AbortController();
  const cancelled = counted({
    workers: 2,
    signal: controller.signal,
    checkpointEvery: 20,
    callbacks: () => [
      {
        everySteps: 1,
        onStep: (s) => {
          if (s.step >= 40) controller.abort();
        },
      },
    ],
  });
  // As in one thread: the store's COMPUTE_FAILED, caused by the training's cancellation.
  await assert.rejects(instabilityPair(cancelled.ctx, { config, k: 0, pair: 0, alphas: 3 }), (e: Error) => {
    assert.ok(e instanceof StoreError && e.code === 'COMPUTE_FAILED', String(e));
    assert.ok(e.cause instanceof TrainingCancelled, String(e.cause));
    return true;
  });
  const resumed = counted({ workers: 2, store: cancelled.ctx.store });
  const pair = await instabilityPair(resumed.ctx, { config, k: 0, pair: 0, alphas: 3 });
  assert.ok(
    resumed.events.some((e) => e.type === 'train' && e.resumed),
    'a copy resumed from its checkpoint',
  );
  const serial = counted({ workers: 1 });
  assert.deepEqual(pair.summary, (await instabilityPair(serial.ctx, { config, k: 0, pair: 0, alphas: 3 })).summary);
});
