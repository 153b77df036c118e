/**
 * The jobs of a plan, without running them: every unit is one task of a job array (units of one
 * kind with the same inputs share one); on the gpu backend every task asks for one GPU; each waits
 * (afterok) for its inputs' tasks: the trunk, the previous IMP level, the level whose mask a
 * baseline trains under; a failed input kills it; units the store holds are not submitted; the
 * site's partition, account, QOS and extra arguments reach every array.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { experimentContext, impRunCalls, sweepCalls, trunk } from '../lib/experiments';
import type { DagNode } from '../lib/cluster/dag';
import { SlurmExecutor } from '../lib/cluster/executor';
import { sbatchArgs, shellQuote, slurmTime } from '../lib/cluster/sbatch';
import { taskState } from '../lib/cluster/slurm';
import { readExperiment, readSubmission } from '../lib/cluster/files';
import { recordingSlurm } from './fixtures/cluster';
import { lenet, tempStore } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** The units of each recorded submission (array), in task order, read back from their submission records. */
function tasksOf(store: { root: string }, dag: readonly DagNode[], arrays: number): DagNode[][] {
  const tasks: DagNode[][] = Array.from({ length: arrays }, () => []);
  for (const node of dag) {
    const jobId = readSubmission(store.root, node.hash)?.jobId;
    if (jobId === undefined) continue;
    const [array, index] = jobId.split('_').map(Number);
    tasks[array - 100][index] = node;
  }
  return tasks;
}

test(
  "an IMP plan on the gpu backend: one array task per unit, one GPU each, afterok on exactly its inputs' tasks, " +
    'the site arguments on every array',
  async () => {
    const config = lenet();
    const store = tempStore();
    const slurm = recordingSlurm();
    const site = { partition: 'gpu', account: 'lab', qos: 'high', extraArgs: ['--constraint=a100'] };
    const executor = new SlurmExecutor({ client: slurm, backend: 'gpu', site });
    const ctx = experimentContext({ store, executor });
    const calls = await impRunCalls(ctx, config, { k: 4, levels: 2, baselines: true });
    const dag = await executor.submit(ctx, calls);

    assert.equal(dag.length, 8, 'trunk, levels 0..2, two baselines at levels 1 and 2');
    const tasks = tasksOf(store, dag, slurm.submissions.length);
    assert.equal(tasks.flat().length, 8, 'every unit is one task of one array');
    const taskOf = new Map(
      tasks.flatMap((nodes, a) => nodes.map((n, i): [string, string] => [n.hash, `${100 + a}_${i}`])),
    );
    for (const [a, args] of slurm.submissions.entries()) {
      const nodes = tasks[a];
      assert.equal(flag(args, 'array'), nodes.length === 1 ? '0' : `0-${nodes.length - 1}`);
      assert.equal(new Set(nodes.map((n) => n.kind)).size, 1, 'one kind per array');
      assert.equal(flag(args, 'gres'), 'gpu:1', nodes[0].label);
      assert.equal(flag(args, 'kill-on-invalid-dep'), 'yes');
      assert.equal(flag(args, 'partition'), 'gpu');
      assert.equal(flag(args, 'account'), 'lab');
      assert.equal(flag(args, 'qos'), 'high');
      assert.ok(args.includes('--constraint=a100'));
      assert.ok(args.includes('--parsable'));
      assert.equal(flag(args, 'cpus-per-task'), '4');
      assert.match(flag(args, 'time') ?? '', /^\d+-\d\d:\d\d:00$/);
      assert.match(
        flag(args, 'wrap') ?? '',
        new RegExp(`unit run ${nodes.map((n) => n.hash).join(' ')} --store ${store.root}$`),
        'task i runs the i-th hash',
      );
      assert.match(flag(args, 'output') ?? '', /\.cluster\/logs\/%A_%a\.txt$/);
      const dependency = flag(args, 'dependency');
      const waits =
        dependency === undefined
          ? []
          : dependency
              .replace(/^afterok:/, '')
              .split(':')
              .sort();
      for (const node of nodes)
        assert.deepEqual(
          waits,
          node.after.map((h) => taskOf.get(h)).sort(),
          `${node.label} waits for its inputs' tasks, no more`,
        );
    }
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
    const record = readExperiment(store.root, executor.experiment);
    assert.equal(record?.units.length, 8);
    assert.deepEqual(
      record?.units.map((u) => u.jobId).sort(),
      [...taskOf.values()].sort(),
      'the record names each task',
    );
  },
);

test("a sweep's copies of one trunk share an array, and each pair curve waits for its own two copies", async () => {
  const config = lenet();
  const store = tempStore();
  const slurm = recordingSlurm();
  const executor = new SlurmExecutor({ client: slurm, backend: 'wasm' });
  const ctx = experimentContext({ store, executor });
  const calls = await sweepCalls(ctx, config, { k: [0, 4], inits: 2, pairs: 2 });
  const dag = await executor.submit(ctx, calls);
  const count = (kind: string) => dag.filter((n) => n.kind === kind).length;
  assert.deepEqual([count('trunk'), count('copy'), count('instability-pair')], [4, 16, 8]);
  const tasks = tasksOf(store, dag, slurm.submissions.length);
  const copyArrays = tasks.filter((nodes) => nodes[0].kind === 'copy');
  assert.equal(copyArrays.length, 4, 'one array of copies per trunk');
  for (const nodes of copyArrays) {
    assert.equal(nodes.length, 4, '2 pairs x 2 copies');
    assert.equal(new Set(nodes.map((n) => n.after.join())).size, 1, 'all from the same trunk');
  }
  const trunkArrays = tasks.filter((nodes) => nodes[0].kind === 'trunk');
  assert.deepEqual(
    trunkArrays.map((nodes) => nodes.length),
    [4],
    'every trunk (2 initializations x k = 0, 4) trains from its initialization: one array, no inputs',
  );
  const taskOf = new Map(
    tasks.flatMap((nodes, a) => nodes.map((n, i): [string, string] => [n.hash, `${100 + a}_${i}`])),
  );
  const curves = tasks.flatMap((nodes, a) => (nodes[0].kind === 'instability-pair' ? [a] : []));
  assert.equal(curves.length, 8, 'each curve its own array: no two curves have the same inputs');
  for (const a of curves) {
    const [curve] = tasks[a];
    const copies = curve.after.map((h) => taskOf.get(h)!);
    assert.equal(copies.length, 2);
    assert.equal(flag(slurm.submissions[a], 'dependency'), `afterok:${copies.sort().join(':')}`, curve.label);
  }
  assert.equal(slurm.submissions.length, 13, '28 units in 13 sbatch calls');
});

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
  assert.equal(flag(slurm.submissions[1], 'dependency'), 'afterok:100_0');
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
      hashes: ['f'.repeat(64)],
      storeRoot: '/shared/store',
      after: [],
      resources: { cpus: 1, memoryMB: 0, gpus: 0, minutes: 5 },
    };
    assert.throws(() => sbatchArgs(job), /resources\.memoryMB = 0; give a whole number >= 1/);
    assert.throws(() => sbatchArgs({ ...job, hashes: [] }), /a copy job array with no unit/);
  },
);

test("an array task's state: its own line, else its array's record, else cancelled while pending, else gone", () => {
  const printed = new Map([
    ['7_0', { state: 'RUNNING', reason: 'None' }],
    ['7_2', { state: 'PENDING', reason: 'Resources' }],
    ['8', { state: 'CANCELLED', reason: 'JobHeldUser' }],
  ]);
  assert.equal(taskState('7_0', printed).state, 'RUNNING');
  assert.deepEqual(taskState('7_1', printed), {
    state: 'CANCELLED',
    reason: 'gone from its array: cancelled before it started',
  });
  assert.equal(taskState('8_0', printed).state, 'CANCELLED', "a one-task array's record after scancel has no index");
  assert.equal(taskState('9_0', printed).state, 'GONE');
  assert.equal(taskState('8', printed).state, 'CANCELLED', 'a plain job id reads its own line');
  assert.equal(taskState('10', printed).state, 'GONE');
});
