/**
 * `npm run bench:pair`: throughput of one instability pair of LeNet-300-100 at quick scale (two
 * copies of 2,000 steps from W_0 on the embedded digits, then 30 alphas on the train and test
 * splits), computed on the worker pool (LMC_WORKERS, one per core by default) and in one thread,
 * each from an empty store, against PyTorch training the same two copies one after the other
 * (2 x 2,000 x its ms per step, measured now; its data loading and evaluation are not counted,
 * which favours it).
 *
 *   npm run bench:pair
 *   npm run bench:pair -- --json
 *   npm run bench:pair -- --scale smoke --workers 2
 *   npm run bench:pair -- --torch-python /usr/bin/python3   another PyTorch as the reference
 */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { openStore } from '../lib/store';
import { resolveConfig, SCALES, type Scale } from '../lib/train/config';
import { presetConfig } from '../lib/train/presets';
import { datasetFor } from '../lib/train/trainer';
import { defaultWorkers, experimentContext, instabilityPair } from '../lib/experiments';
import { pytorchMs } from './pytorch';

/** Wall seconds of one pair from an empty store on `workers` threads. */
async function pairSeconds(scale: Scale, workers: number): Promise<{ seconds: number; instability: number }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-bench-pair-'));
  try {
    const ctx = experimentContext({ store: openStore({ root, onEvent: () => undefined }), workers });
    const started = performance.now();
    const pair = await instabilityPair(ctx, { config: presetConfig('lenet_mnist', scale), k: 0, pair: 0 });
    return { seconds: (performance.now() - started) / 1000, instability: pair.summary.splits.test.instability };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'quick' },
      workers: { type: 'string' },
      json: { type: 'boolean', default: false },
      'torch-python': { type: 'string' },
    },
  });
  const scale = values.scale as Scale;
  if (!SCALES.includes(scale)) throw new Error(`--scale ${values.scale}: use one of ${SCALES.join(', ')}`);
  const backend = await initBackend(process.env.LMC_BACKEND ? undefined : 'wasm');
  const workers = values.workers === undefined ? defaultWorkers() : Number(values.workers);
  const config = presetConfig('lenet_mnist', scale);
  const steps = resolveConfig(config, datasetFor(config).train.size).totalIterations;
  const log = values.json ? () => undefined : (s: string) => console.error(s);
  log(
    `one LeNet-300-100 pair at ${values.scale} scale: 2 copies x ${steps} steps + 30 alphas; backend ${backend.name}`,
  );
  const pool = await pairSeconds(scale, workers);
  log(`${workers} workers: ${pool.seconds.toFixed(1)} s (test instability ${(100 * pool.instability).toFixed(2)} pp)`);
  const serial = await pairSeconds(scale, 1);
  log(`1 thread: ${serial.seconds.toFixed(1)} s (test instability ${(100 * serial.instability).toFixed(2)} pp)`);
  const torch = pytorchMs('lenet', 200, 20, values['torch-python']);
  const torchSeconds = torch.ms === null ? null : (2 * steps * torch.ms) / 1000;
  const torchTime =
    torchSeconds === null
      ? `unavailable (${torch.note})`
      : `${torchSeconds.toFixed(1)} s for the two copies (${torch.ms!.toFixed(2)} ms/step; ${torch.note})`;
  log(`pytorch: ${torchTime}`);
  const perHour = (s: number | null) => (s === null ? null : 3600 / s);
  const row = {
    scale: values.scale,
    steps,
    backend: backend.name,
    workers,
    secondsPerPair: pool.seconds,
    serialSecondsPerPair: serial.seconds,
    pytorchSecondsPerPair: torchSeconds,
    pairsPerHour: perHour(pool.seconds),
    serialPairsPerHour: perHour(serial.seconds),
    pytorchPairsPerHour: perHour(torchSeconds),
    ratio: torchSeconds === null ? null : torchSeconds / pool.seconds,
    identical: pool.instability === serial.instability,
  };
  if (values.json) console.log(JSON.stringify(row));
  else
    console.log(
      `pairs per hour: ${row.pairsPerHour!.toFixed(0)} on ${workers} workers, ` +
        `${row.serialPairsPerHour!.toFixed(0)} in one thread, ` +
        `${row.pytorchPairsPerHour?.toFixed(0) ?? 'n/a'} PyTorch (ratio ${row.ratio?.toFixed(2) ?? 'n/a'}; ` +
        `target >= 1.5)`,
    );
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
