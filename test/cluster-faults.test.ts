/**
 * Faults on a real Slurm (loopback, test/fixtures/slurm.ts): a job cancelled mid-training resumes
 * from the unit's checkpoint when resubmitted and ends with a local run's bits; a unit that fails
 * gets its dependents cancelled (not left pending) and `lmc status` names it, its log and its
 * error, while what finished stays in the store; two submissions of one experiment compute each
 * unit once.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { openStore } from '../lib/store';
import { experimentContext, trunk, trunkCall } from '../lib/experiments';
import { unitDefinition } from '../lib/experiments/registry';
import { SlurmExecutor } from '../lib/cluster/executor';
import { slurmClient } from '../lib/cluster/slurm';
import { experimentRecord, experimentStatus } from '../lib/cluster/status';
import { readExit, readExperiment, readSubmission, unitJobDir, type JobCall, type JobExit } from '../lib/cluster/files';
import { clusterFile } from './fixtures/slurm';
import { storeContents } from './fixtures/cluster';
import { lenet, tempDir, tempStore } from './fixtures/experiments';

const cluster = clusterFile();
const { skip, lmc, until } = cluster;

before(() => initBackend('wasm'));

/** Every exit record of a store, by unit hash. */
function exitsByUnit(root: string): Map<string, JobExit[]> {
  const out = new Map<string, JobExit[]>();
  const units = path.join(root, '.cluster', 'units');
  for (const hash of fs.readdirSync(units)) {
    const exits = fs
      .readdirSync(path.join(units, hash))
      .filter((f) => /^exit-.*\.json$/.test(f))
      .map((f) => JSON.parse(fs.readFileSync(path.join(units, hash, f), 'utf8')) as JobExit);
    out.set(hash, exits);
  }
  return out;
}

test(
  'a job cancelled mid-training resumes from its checkpoint on resubmission and ends with the bits of a local run',
  { skip },
  async () => {
    cluster.requireSlurm();
    const config = lenet({ training: '3000it' });
    const store = tempStore();
    const call = trunkCall(config, 1500);
    const first = new SlurmExecutor({ client: slurmClient(cluster.slurm.env), pollMs: 100 });
    const ctx = experimentContext({ store, executor: first, checkpointEvery: 50 });
    const [node] = await first.submit(ctx, [call]);
    const jobId = readSubmission(store.root, node.hash)!.jobId;
    const checkpointed = await until('a checkpoint past step 100', async () => {
      const info = await store.show(`trunk/${node.hash}`).catch(() => null);
      return info && (info.checkpointStep ?? 0) >= 100 ? info.checkpointStep : null;
    });
    const [running] = await experimentStatus(
      store,
      slurmClient(cluster.slurm.env),
      experimentRecord(store, first.experiment),
    );
    assert.equal(running.state, 'running', JSON.stringify(running));
    assert.ok(
      (running.step ?? 0) > 0 && running.endStep === 1500,
      `lmc status's step: ${running.step}/${running.endStep}`,
    );
    assert.equal(running.jobId, jobId);
    cluster.slurm.client('scancel', [jobId]);
    const cancelled = await until("the cancelled job's exit record", () => readExit(store.root, node.hash, jobId));
    assert.equal(cancelled.ok, false);
    assert.equal(cancelled.cancelled, true);
    assert.match(cancelled.error ?? '', /training cancelled at step \d+ of 1500.*resumes from its last checkpoint/);
    assert.equal(await store.get('trunk', unitDefinition(call).plan(ctx, call.spec).key), null, 'not finished');
    const [stopped] = await experimentStatus(
      store,
      slurmClient(cluster.slurm.env),
      experimentRecord(store, first.experiment),
    );
    assert.equal(stopped.state, 'cancelled');
    assert.match(stopped.log ?? '', /logs\/\d+_\d+\.txt$/);

    const second = new SlurmExecutor({ client: slurmClient(cluster.slurm.env), pollMs: 100 });
    const trains: { from?: number; via?: string }[] = [];
    const resumed = await experimentContext({
      store,
      executor: second,
      checkpointEvery: 50,
      onUnit: (e) => e.type === 'train' && trains.push(e),
    }).run(call);
    assert.equal(resumed.unit.computed, true);
    assert.equal(trains.length, 1);
    assert.equal(trains[0].via, 'checkpoint');
    assert.ok(
      (trains[0].from ?? 0) >= checkpointed!,
      `resumed from step ${trains[0].from}, checkpoint at ${checkpointed}`,
    );

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

test(
  'a failing unit gets its dependents cancelled; lmc status names it, its log and error; what finished stays',
  { skip },
  async () => {
    cluster.requireSlurm();
    const home = tempDir();
    const imp = ['imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--levels', '1', '--baselines'];
    // Held at submission, so that level 1's data can be damaged before any job runs.
    const submitted = await lmc(home, [...imp, '--on', 'slurm', '--detach', '--sbatch-arg=--hold']);
    assert.equal(submitted.status, 0, submitted.stderr);
    const root = path.join(home, 'store');
    const record = readExperiment(root)!;
    const level1 = record.units.find((u) => u.label.includes('level=1'))!;
    const callFile = path.join(unitJobDir(root, level1.hash), 'call.json');
    const job = JSON.parse(fs.readFileSync(callFile, 'utf8')) as JobCall;
    // What a data file changed or damaged after submission looks like to the job: another fingerprint.
    job.setup.dataset.fingerprint = 'f'.repeat(16);
    fs.writeFileSync(callFile, JSON.stringify(job));
    cluster.slurm.client('scontrol', ['release', record.units.flatMap((u) => (u.jobId ? [u.jobId] : [])).join(',')]);

    const rows = await until('every unit settled', async () => {
      const status = await lmc(home, ['status', '--json']);
      const units = (
        JSON.parse(status.stdout) as {
          units: { state: string; label: string; error?: string; log?: string; kind: string }[];
        }
      ).units;
      return units.every((u) => !['pending', 'running'].includes(u.state)) ? { units, status } : null;
    });
    assert.equal(rows.status.status, 1, 'lmc status exits 1 when a unit failed');
    const state = (text: string) => rows.units.filter((u) => u.label.includes(text)).map((u) => u.state);
    assert.deepEqual(state('trunk'), ['done']);
    assert.deepEqual(state('level=0'), ['done']);
    assert.deepEqual(state('level=1'), ['failed']);
    assert.deepEqual(
      rows.units.filter((u) => u.kind === 'copy').map((u) => u.state),
      ['cancelled', 'cancelled'],
      'its baselines are cancelled, not left pending',
    );
    const failed = rows.units.find((u) => u.state === 'failed')!;
    assert.match(
      failed.error ?? '',
      /dataset 'mnist' .* reads as \S+ on .* but as ffffffffffffffff where the unit was submitted/,
    );
    assert.ok(failed.log && fs.readFileSync(failed.log, 'utf8').includes('reads as'), 'the log holds the error');
    const text = await lmc(home, ['status']);
    assert.match(
      text.stdout,
      /FAILED .*imp-level k=0 level=1[^\n]*\n {4}error: dataset 'mnist'[^\n]*\n {4}log: \S+logs\/\d+_\d+\.txt/,
    );
    const store = openStore({ root, onEvent: () => undefined });
    assert.equal((await storeContents(store)).length, 2, 'the trunk and level 0 are kept');
  },
);

test(
  'two submissions of one experiment at once compute each unit once and print the same table',
  { skip },
  async () => {
    cluster.requireSlurm();
    const home = tempDir();
    const imp = [
      'imp',
      '--config',
      'lenet_mnist',
      '--scale',
      'smoke',
      '--levels',
      '1',
      '--baselines',
      '--on',
      'slurm',
      '--json',
    ];
    const [a, b] = await Promise.all([lmc(home, imp), lmc(home, imp)]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const levels = (out: string) =>
      (JSON.parse(out) as { levels: { seconds?: number }[] }).levels.map(({ seconds, ...rest }) => rest);
    assert.deepEqual(levels(a.stdout), levels(b.stdout));
    const exits = exitsByUnit(path.join(home, 'store'));
    assert.equal(exits.size, 5);
    for (const [hash, records] of exits) {
      assert.equal(
        records.filter((r) => r.ok && r.computed).length,
        1,
        `unit ${hash} computed once (${records.length} job(s))`,
      );
    }
  },
);
