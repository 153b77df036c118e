/**
 * Overhead of running units as Slurm jobs: one instability sweep (LeNet, default quick scale,
 * k = 0, 100, 500, 1 initialization x 2 pairs) computed by `lmc instability` on this machine's
 * worker threads (LMC_WORKERS = the cluster's CPUs) and with --on slurm on a loopback cluster of
 * as many CPUs (test/fixtures/slurm.ts), each into a fresh store. Prints both wall-clocks, their
 * ratio, each job's overhead (its wall-clock in Slurm minus the time its process computed) and the
 * latency of each dependency hop (an input's exit record written to its dependent's process start).
 *
 *   node dist/bench/cluster-overhead.js [--scale quick] [--cpus 2] [--k 0,100,500] [--pairs 2]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { readExperiment, readExit, readSubmission } from '../lib/cluster/files';
import { startSlurm } from '../test/fixtures/slurm';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');

function lmc(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LMC, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('close', (code) => (code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, stdout }) : reject(new Error(`lmc ${args.join(' ')} exited ${code}`))));
  });
}

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return s.length === 0 ? 'none' : `median ${at(0.5).toFixed(2)} s, min ${s[0].toFixed(2)} s, max ${s[s.length - 1].toFixed(2)} s (n = ${s.length})`;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: 'quick' }, cpus: { type: 'string', default: '2' }, k: { type: 'string', default: '0,100,500' }, pairs: { type: 'string', default: '2' } } });
  const cpus = Number(values.cpus);
  const sweep = ['instability', '--config', 'lenet_mnist', '--scale', values.scale!, '--k', values.k!, '--inits', '1', '--pairs', values.pairs!, '--json'];
  const base = { ...process.env, LMC_BACKEND: 'wasm' };
  console.log(`load before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`);

  const localHome = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-local-'));
  const local = await lmc(sweep, { ...base, LMC_HOME: localHome, LMC_WORKERS: String(cpus) });
  console.log(`local (${cpus} worker threads): ${local.seconds.toFixed(1)} s; load ${os.loadavg()[0].toFixed(2)}`);

  const slurm = await startSlurm({ cpus });
  const clusterHome = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-slurm-'));
  try {
    const cluster = await lmc([...sweep, '--on', 'slurm'], { ...base, ...slurm.env, LMC_HOME: clusterHome, LMC_WORKERS: '1' });
    console.log(`slurm (loopback, ${cpus} CPUs, one job per unit): ${cluster.seconds.toFixed(1)} s; load ${os.loadavg()[0].toFixed(2)}`);
    console.log(`ratio slurm/local: ${(cluster.seconds / local.seconds).toFixed(2)}`);
    const same = JSON.stringify((JSON.parse(cluster.stdout) as { results: unknown }).results) === JSON.stringify((JSON.parse(local.stdout) as { results: unknown }).results);
    console.log(`same results: ${same}`);
    const root = path.join(clusterHome, 'store');
    const record = readExperiment(root)!;
    const finishedAt = new Map<string, number>();
    const jobs = record.units.filter((u) => u.jobId !== null);
    const overhead: number[] = [];
    const hops: number[] = [];
    for (const unit of jobs) {
      const exit = readExit(root, unit.hash, unit.jobId!);
      if (!exit) continue;
      finishedAt.set(unit.hash, Date.parse(exit.finishedAt));
      const shown = slurm.client('scontrol', ['show', 'job', '-o', unit.jobId!]);
      const [start, end] = ['StartTime', 'EndTime'].map((f) => Date.parse(new RegExp(`${f}=(\\S+)`).exec(shown)![1]));
      // Slurm's times are whole seconds: the overhead per job is known to about a second.
      overhead.push((end - start) / 1000 - exit.seconds);
    }
    for (const unit of jobs) {
      const exit = readExit(root, unit.hash, unit.jobId!);
      const inputs = unit.after.map((h) => finishedAt.get(h)).filter((t): t is number => t !== undefined);
      if (exit && inputs.length > 0) hops.push((Date.parse(exit.startedAt) - Math.max(...inputs)) / 1000);
    }
    console.log(`${jobs.length} jobs; submitted by one sbatch each (${readSubmission(root, jobs[0].hash)?.jobId} first)`);
    console.log(`per-job overhead (Slurm wall-clock minus computing, incl. node and TensorFlow.js start): ${quantiles(overhead)}`);
    console.log(`dependency hop (input's exit record -> dependent's process computing): ${quantiles(hops)}`);
  } finally {
    await slurm.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
