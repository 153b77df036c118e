/**
 * The jobs of a plan, without running them: on the gpu backend every unit asks for one GPU; each
 * job waits (afterok) for its inputs' jobs: the trunk, the previous IMP level, the level whose mask
 * a baseline trains under; a failed input kills it; units the store holds are not submitted; the
 * site's partition, account, QOS and extra arguments reach every job.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { experimentContext, impRunCalls, trunk } from '../lib/experiments';
import { SlurmExecutor } from '../lib/cluster/executor';
import { sbatchArgs, shellQuote, slurmTime } from '../lib/cluster/sbatch';
import { readExperiment, readSubmission } from '../lib/cluster/files';
import { recordingSlurm } from './fixtures/cluster';
import { lenet, tempStore } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

test(
  'an IMP plan on the gpu backend: one job per unit, one GPU each, afterok on its inputs, the site arguments on ' +
    'every job',
  async () => {
    const config = lenet();
    const store = tempStore();
    const slurm = recordingSlurm();
    const site = { partition: 'gpu', account: 'lab', qos: 'high', extraArgs: ['--constraint=a100'] };
    const executor = new SlurmExecutor({ client: slurm, backend: 'gpu', site });
    const ctx = experimentContext({ store, executor });
    const calls = await impRunCalls(ctx, config, { k: 4, levels: 2, baselines: true });
    const dag = await executor.submit(ctx, calls);

    assert.equal(dag.length, 8);
    assert.equal(slurm.submissions.length, 8, 'trunk, levels 0..2, two baselines at levels 1 and 2');
    const jobOf = new Map(dag.map((n, i) => [n.hash, String(100 + i)]));
    for (const [i, node] of dag.entries()) {
      const args = slurm.submissions[i];
      assert.equal(flag(args, 'gres'), 'gpu:1', node.label);
      assert.equal(flag(args, 'kill-on-invalid-dep'), 'yes');
      assert.equal(flag(args, 'partition'), 'gpu');
      assert.equal(flag(args, 'account'), 'lab');
      assert.equal(flag(args, 'qos'), 'high');
      assert.ok(args.includes('--constraint=a100'));
      assert.ok(args.includes('--parsable'));
      assert.equal(flag(args, 'cpus-per-task'), '4');
      assert.match(flag(args, 'time') ?? '', /^\d+-\d\d:\d\d:00$/);
      assert.match(flag(args, 'wrap') ?? '', new RegExp(`unit run ${node.hash} --store ${store.root}$`));
      assert.match(flag(args, 'output') ?? '', new RegExp(`\\.cluster/units/${node.hash}/log-%j\\.txt$`));
      const expected = node.after.map((h) => jobOf.get(h)).sort();
      const dependency = flag(args, 'dependency');
      assert.deepEqual(
        dependency === undefined
          ? []
          : dependency
              .replace(/^afterok:/, '')
              .split(':')
              .sort(),
        expected,
        `${node.label} waits for its inputs`,
      );
      assert.equal(readSubmission(store.root, node.hash)?.jobId, String(100 + i));
    }
    const byLabel = (text: string) => dag.filter((n) => n.label.includes(text));
    const [level0, level1, level2] = [0, 1, 2].map((n) =>
      dag.find((d) => d.kind === 'imp-level' && (d.call.spec as { level: number }).level === n)!,
    );
    const trunkNode = dag.find((n) => n.kind === 'trunk')!;
    assert.deepEqual(level0.after, [trunkNode.hash]);
    assert.deepEqual([...level2.after].sort(), [level1.hash, trunkNode.hash].sort());
    const baselines = dag.filter((n) => n.kind === 'copy');
    assert.equal(baselines.length, 4);
    for (const b of baselines)
      assert.ok(
        b.after.includes(level1.hash) || b.after.includes(level2.hash),
        `${b.label} waits for the level that made its mask`,
      );
    assert.ok(byLabel('trunk').length >= 1);
    const record = readExperiment(store.root, executor.experiment);
    assert.equal(record?.units.length, 8);
  },
);

test('units already in the store are not submitted, and their dependents do not wait for them', async () => {
  const config = lenet();
  const store = tempStore();
  await trunk(experimentContext({ store, workers: 1 }), config, 4);
  const slurm = recordingSlurm();
  const executor = new SlurmExecutor({ client: slurm, backend: 'wasm' });
  const ctx = experimentContext({ store, executor });
  const dag = await executor.submit(ctx, await impRunCalls(ctx, config, { k: 4, levels: 1 }));
  assert.deepEqual(
    dag.map((n) => [n.kind, n.stored]),
    [
      ['trunk', true],
      ['imp-level', false],
      ['imp-level', false],
    ],
  );
  assert.equal(slurm.submissions.length, 2);
  assert.equal(flag(slurm.submissions[0], 'dependency'), undefined, 'level 0 needs only the stored trunk');
  assert.equal(flag(slurm.submissions[1], 'dependency'), 'afterok:100');
  assert.equal(flag(slurm.submissions[0], 'gres'), undefined, 'no GPU on the wasm backend');
  assert.equal(flag(slurm.submissions[0], 'cpus-per-task'), '1');
  // A second submission finds both jobs queued: it waits on them instead of submitting again.
  const second = new SlurmExecutor({ client: slurm, backend: 'wasm' });
  await second.submit(
    experimentContext({ store, executor: second }),
    await impRunCalls(ctx, config, { k: 4, levels: 1 }),
  );
  assert.equal(slurm.submissions.length, 2, 'nothing submitted twice');
});

test(
  "sbatch arguments: time limits in Slurm's format, quoting for sh, and resources checked with the field " + 'named',
  () => {
    assert.equal(slurmTime(1), '0-00:01:00');
    assert.equal(slurmTime(61), '0-01:01:00');
    assert.equal(slurmTime(1441.2), '1-00:02:00');
    assert.equal(shellQuote("/a b/it's"), `'/a b/it'\\''s'`);
    assert.equal(shellQuote('/plain/path-1.js'), '/plain/path-1.js');
    const job = {
      kind: 'copy',
      hash: 'f'.repeat(64),
      storeRoot: '/shared/store',
      after: [],
      resources: { cpus: 1, memoryMB: 0, gpus: 0, minutes: 5 },
    };
    assert.throws(() => sbatchArgs(job), /resources\.memoryMB = 0; give a whole number >= 1/);
  },
);
