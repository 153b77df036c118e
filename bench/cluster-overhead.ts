/**
 * Overhead of running units as Slurm jobs: one instability sweep (LeNet, default quick scale,
 * k = 0, 100, 500, 1 initialization x 2 pairs) computed by `lmc instability` on this machine's
 * worker threads (LMC_WORKERS = the cluster's CPUs) and with --on slurm on a loopback cluster of
 * as many CPUs (test/fixtures/slurm.ts), each into a fresh store. Prints both wall-clocks, their
 * ratio, the number of job arrays, each job's (array task's) overhead (its wall-clock in Slurm
 * minus the time its process computed) and the latency of each dependency hop (an input's exit
 * record written to its dependent's process start).
 * A sweep's hops include waiting for a free CPU; a serial chain (smoke-scale IMP, levels 0..4, one
 * job ready at a time) gives the hop itself: scheduling, job start, node and TensorFlow.js loading.
 *
 *   node dist/bench/cluster-overhead.js [--scale quick] [--cpus 2] [--k 0,100,500] [--pairs 2] [--chain-only]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { arrayOf } from '../lib/cluster/arrays';
import { readExperiment, readExit } from '../lib/cluster/files';
import { startSlurm } from '../test/fixtures/slurm';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');

function lmc(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LMC, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('close', (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - started) / 1000, stdout })
        : reject(new Error(`lmc ${args.join(' ')} exited ${code}`)),
    );
  });
}

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return s.length === 0
    ? 'none'
    : `median ${at(0.5).toFixed(2)} s, min ${s[0].toFixed(2)} s, max ${s[s.length - 1].toFixed(2)} s (n = ${s.length})`;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'quick' },
      cpus: { type: 'string', default: '2' },
      k: { type: 'string', default: '0,100,500' },
      pairs: { type: 'string', default: '2' },
      'chain-only': { type: 'boolean', default: false },
    },
  });
  const cpus = Number(values.cpus);
  const sweep = [
    'instability',
    '--config',
    'lenet_mnist',
    '--scale',
    values.scale!,
    '--k',
    values.k!,
    '--inits',
    '1',
    '--pairs',
    values.pairs!,
    '--json',
  ];
  const base = { ...process.env, LMC_BACKEND: 'wasm' };
  console.log(
    `load before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${os.availableParallelism()} cores`,
  );

  const slurm = await startSlurm({ cpus });
  try {
    if (!values['chain-only']) await sweeps(sweep, base, cpus, slurm);
    const chainHome = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-chain-'));
    const chain = await lmc(
      ['imp', '--config', 'lenet_mnist', '--scale', 'smoke', '--levels', '4', '--json', '--on', 'slurm'],
      { ...base, ...slurm.env, LMC_HOME: chainHome, LMC_WORKERS: '1' },
    );
    const serial = jobTimes(path.join(chainHome, 'store'), slurm.client);
    console.log(
      `serial chain (trunk, IMP levels 0..4): ${serial.jobs} jobs in ${chain.seconds.toFixed(1)} s; dependency hop: ` +
        `${quantiles(serial.hops)}; load ${os.loadavg()[0].toFixed(2)}`,
    );
  } finally {
    await slurm.stop();
  }
}

/** The sweep on local workers, then on the cluster; prints both and the jobs' overheads. */
async function sweeps(
  sweep: string[],
  base: NodeJS.ProcessEnv,
  cpus: number,
  slurm: Awaited<ReturnType<typeof startSlurm>>,
): Promise<void> {
  const localHome = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-local-'));
  const local = await lmc(sweep, { ...base, LMC_HOME: localHome, LMC_WORKERS: String(cpus) });
  console.log(`local (${cpus} worker threads): ${local.seconds.toFixed(1)} s; load ${os.loadavg()[0].toFixed(2)}`);
  const clusterHome = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-slurm-'));
  const cluster = await lmc([...sweep, '--on', 'slurm'], {
    ...base,
    ...slurm.env,
    LMC_HOME: clusterHome,
    LMC_WORKERS: '1',
  });
  console.log(
    `slurm (loopback, ${cpus} CPUs, one array task per unit): ${cluster.seconds.toFixed(1)} s; load ` +
      `${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(`ratio slurm/local: ${(cluster.seconds / local.seconds).toFixed(2)}`);
  const same =
    JSON.stringify((JSON.parse(cluster.stdout) as { results: unknown }).results) ===
    JSON.stringify((JSON.parse(local.stdout) as { results: unknown }).results);
  console.log(`same results: ${same}`);
  const root = path.join(clusterHome, 'store');
  const { jobs, arrays, overhead, hops } = jobTimes(root, slurm.client);
  console.log(`${jobs} jobs (array tasks) in ${arrays} job arrays (sbatch calls)`);
  console.log(
    `per-job overhead (Slurm wall-clock minus computing, incl. node and TensorFlow.js start): ${quantiles(overhead)}`,
  );
  console.log(
    `dependency hop in the sweep (input's exit record -> dependent's process computing; includes waiting for a ` +
      `CPU): ${quantiles(hops)}`,
  );
}

/** Per job of the store's latest experiment: its overhead in Slurm, and the hop from its latest input. */
function jobTimes(
  root: string,
  client: (command: string, args: string[]) => string,
): { jobs: number; arrays: number; overhead: number[]; hops: number[] } {
  const record = readExperiment(root)!;
  const finishedAt = new Map<string, number>();
  const jobs = record.units.filter((u) => u.jobId !== null);
  const overhead: number[] = [];
  const hops: number[] = [];
  for (const unit of jobs) {
    const exit = readExit(root, unit.hash, unit.jobId!);
    if (!exit) continue;
    finishedAt.set(unit.hash, Date.parse(exit.finishedAt));
    const shown = client('scontrol', ['show', 'job', '-o', unit.jobId!]);
    const [start, end] = ['StartTime', 'EndTime'].map((f) => Date.parse(new RegExp(`${f}=(\\S+)`).exec(shown)![1]));
    // Slurm's times are whole seconds: the overhead per job is known to about a second.
    overhead.push((end - start) / 1000 - exit.seconds);
  }
  for (const unit of jobs) {
    const exit = readExit(root, unit.hash, unit.jobId!);
    const inputs = unit.after.map((h) => finishedAt.get(h)).filter((t): t is number => t !== undefined);
    if (exit && inputs.length > 0) hops.push((Date.parse(exit.startedAt) - Math.max(...inputs)) / 1000);
  }
  const arrays = new Set(jobs.map((u) => arrayOf(u.jobId!))).size;
  return { jobs: jobs.length, arrays, overhead, hops };
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
