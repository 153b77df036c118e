/**
 * The cluster flags and site file: --on is checked, --detach and --dry-run need --on slurm, the
 * site file's settings apply unless a flag says otherwise, and a malformed file names the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clusterFromFlags } from '../lib/cli/cluster-flags';
import { statusLine } from '../lib/cli/cluster';
import { tempDir } from './fixtures/experiments';

const quiet = () => undefined;
const site = (choice: ReturnType<typeof clusterFromFlags>) => choice!.executor.site;

test('--on local computes here; --detach and --dry-run ask for --on slurm; an unknown --on is named', () => {
  assert.equal(clusterFromFlags({}, 'lmc imp', quiet), null);
  assert.throws(() => clusterFromFlags({ on: 'pbs' }, 'lmc imp', quiet), /--on pbs: use local or slurm/);
  assert.throws(() => clusterFromFlags({ detach: true }, 'lmc imp', quiet), /--detach applies to --on slurm/);
  assert.throws(() => clusterFromFlags({ 'dry-run': true }, 'lmc imp', quiet), /--dry-run applies to --on slurm/);
});

test('the site file applies where no flag is given; flags win; resources are whole numbers, named when not', () => {
  const file = path.join(tempDir(), 'slurm.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ partition: 'gpu', account: 'lab', sbatchArgs: ['--constraint=a100'], mem: 4096 }),
  );
  const choice = clusterFromFlags(
    { on: 'slurm', 'slurm-config': file, account: 'other', 'sbatch-arg': ['--exclusive'], gpus: '2' },
    'lmc imp',
    quiet,
  );
  assert.deepEqual(site(choice), {
    partition: 'gpu',
    account: 'other',
    qos: undefined,
    extraArgs: ['--constraint=a100', '--exclusive'],
    resources: { memoryMB: 4096, gpus: 2 },
  });
  assert.throws(() => clusterFromFlags({ on: 'slurm', 'slurm-config': file, cpus: 'two' }, 'lmc imp', quiet), /--cpus/);
});

test('a malformed site file is refused, naming the file and the field', () => {
  const file = path.join(tempDir(), 'slurm.json');
  fs.writeFileSync(file, JSON.stringify({ partion: 'gpu' }));
  assert.throws(
    () => clusterFromFlags({ on: 'slurm', 'slurm-config': file }, 'lmc imp', quiet),
    /slurm\.json: unknown field "partion"; the fields are partition, account/,
  );
  fs.writeFileSync(file, '{ not json');
  assert.throws(
    () => clusterFromFlags({ on: 'slurm', 'slurm-config': file }, 'lmc imp', quiet),
    /--slurm-config .*slurm\.json: .*give a JSON object/,
  );
  fs.writeFileSync(file, JSON.stringify({ sbatchArgs: '--exclusive' }));
  assert.throws(
    () => clusterFromFlags({ on: 'slurm', 'slurm-config': file }, 'lmc imp', quiet),
    /sbatchArgs must be a list of strings/,
  );
});

test("lmc status lines: a running unit's step and ETA, a pending one's reason, a failed one's error and log", () => {
  const unit = { hash: 'a'.repeat(64), kind: 'copy', label: 'copy k=0', jobId: '12' };
  assert.equal(
    statusLine({ ...unit, state: 'running', step: 40, endStep: 100, etaSeconds: 90 }),
    `running step 40/100, ETA 1m30s  ${'a'.repeat(12)}  copy             copy k=0 (job 12)`,
  );
  assert.match(statusLine({ ...unit, state: 'pending', reason: 'Dependency' }), /^pending \(Dependency\)/);
  assert.equal(
    statusLine({ ...unit, state: 'failed', error: 'boom', log: '/s/log-12.txt' }),
    `FAILED  ${'a'.repeat(12)}  copy             copy k=0 (job 12)\n    error: boom\n    log: /s/log-12.txt`,
  );
});
