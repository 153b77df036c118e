// IMP over k as one table (smoke-scale LeNet on the embedded MNIST): every impRun's rows, with k,
// run and accuracy columns, baselines at k = 0 only, equal to the impRun it is made of.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { impRun } from '../lib/experiments';
import { impOverK } from '../lib/notebook';
import { counted, lenet } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

/** A row's k, run, level and method. */
const key = (r: { k: number; run: number; level: number; method: string }) => `${r.k}/${r.run}/${r.level}/${r.method}`;

test("impOverK: a row per level, method, k and initialization; baselines at k = 0; rows as impRun's", async () => {
  const { ctx } = counted();
  const config = lenet({ training: '6it' });
  const table = await impOverK(ctx, config, { ks: [0, 2], levels: 1, initSeeds: [0, 5], baselines: [1] });
  const columns = table.columnNames();
  assert.ok(columns.includes('accuracy') && !columns.includes('testAccuracy'), columns.join());
  const rows = table.objects() as { k: number; run: number; level: number; method: string; accuracy: number }[];
  assert.deepEqual(rows.map(key), [
    '0/0/0/imp',
    '0/0/1/imp',
    '0/0/1/random-prune',
    '0/0/1/random-reinit',
    '0/1/0/imp',
    '0/1/1/imp',
    '0/1/1/random-prune',
    '0/1/1/random-reinit',
    '2/0/0/imp',
    '2/0/1/imp',
    '2/1/0/imp',
    '2/1/1/imp',
  ]);
  const direct = await impRun(ctx, { ...config, initSeed: 5 }, { k: 2, levels: 1 });
  const fromTable = rows.filter((r) => r.k === 2 && r.run === 1).map((r) => r.accuracy);
  assert.deepEqual(fromTable, Array.from(direct.table.array('testAccuracy')));
});

test('impOverK with baselines true trains them at every level of k = 0; without baselines none', async () => {
  const { ctx } = counted();
  const config = lenet({ training: '4it' });
  const all = await impOverK(ctx, config, { ks: [0], levels: 2, initSeeds: [0], baselines: true });
  const baselines = all.filter((d) => d.method !== 'imp').objects() as { level: number; method: string }[];
  const where = baselines.map((r) => `${r.level}/${r.method}`).sort();
  assert.deepEqual(where, ['1/random-prune', '1/random-reinit', '2/random-prune', '2/random-reinit']);
  const none = await impOverK(ctx, config, { ks: [0], levels: 2, initSeeds: [0] });
  assert.deepEqual(Array.from(none.array('method')), ['imp', 'imp', 'imp']);
});

test('impOverK names both lists when there is no k or no seed to run', async () => {
  const { ctx } = counted();
  await assert.rejects(
    impOverK(ctx, lenet(), { ks: [], levels: 1, initSeeds: [0] }),
    /impOverK: ks = \[\], initSeeds = \[0\]; give at least one rewinding step and one seed/,
  );
});
