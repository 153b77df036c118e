/**
 * A child process for the store's reliability tests (not a test itself): computes one 'count' unit
 * whose result depends on every step, checkpointing as it goes, so that a test can kill it anywhere
 * and check that a rerun resumes and ends bit-identical to an uninterrupted run.
 *
 * argv[2] is JSON: { root, config: {seed, steps, every}, stepMs, log?, staleMs?, heartbeatMs?, pollMs? }.
 * Prints one JSON line on success: { computed, hash, summary, state } (state: hex SHA-256 of state.bin).
 * On failure prints the error to stderr and exits 2. Log lines (appended to `log`):
 *   start <pid> <step resumed from> | ckpt <pid> <step> | done <pid>
 */
import { appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { openStore, StoreError, type StoreEvent } from '../lib/store';

/** The worker's command-line argument (JSON); the test imports this type only, never the script. */
export interface WorkerArgs {
  root: string;
  config: { seed: number; steps: number; every: number };
  stepMs: number;
  log?: string;
  staleMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
}

const args = JSON.parse(process.argv[2]) as WorkerArgs;
const log = (line: string) => {
  if (args.log) appendFileSync(args.log, `${line}\n`);
};

/** Deterministic "training": every element depends on the seed and on every earlier step. */
function initial(seed: number): Float64Array {
  const s = new Float64Array(64);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < s.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s[i] = x / 2 ** 32;
  }
  return s;
}

function advance(s: Float64Array, step: number): void {
  for (let i = 0; i < s.length; i++) s[i] = Math.sin(s[i] * 3.7 + s[(i + 1) % s.length] + step * 1e-3);
}

const bytesOf = (s: Float64Array) => Buffer.from(s.buffer, s.byteOffset, s.byteLength);

async function main(): Promise<void> {
  const events: StoreEvent[] = [];
  const store = openStore({
    root: args.root,
    staleMs: args.staleMs,
    heartbeatMs: args.heartbeatMs,
    pollMs: args.pollMs,
    maxPollMs: args.pollMs ? args.pollMs * 4 : undefined,
    onEvent: (e) => {
      events.push(e);
      log(`event ${process.pid} ${e.type}`);
    },
  });
  const { steps, every } = args.config;
  const unit = await store.compute('count', args.config, async (u) => {
    const checkpoint = await u.latestCheckpoint();
    let step = 0;
    let state = initial(args.config.seed);
    let history: number[] = [];
    if (checkpoint) {
      step = checkpoint.step;
      const raw = checkpoint.files.get('state.bin')!;
      state = new Float64Array(new Uint8Array(raw).buffer);
      history = JSON.parse(checkpoint.files.get('history.json')!.toString('utf8')) as number[];
    }
    log(`start ${process.pid} ${step}`);
    while (step < steps) {
      advance(state, step);
      step++;
      history.push(state[0]);
      if (args.stepMs > 0) await new Promise((r) => setTimeout(r, args.stepMs));
      if (step % every === 0 && step < steps) {
        await u.checkpoint(
          step,
          { 'state.bin': bytesOf(state), 'history.json': Buffer.from(JSON.stringify(history)) },
          { step },
        );
        log(`ckpt ${process.pid} ${step}`);
      }
    }
    await u.writeFile('state.bin', bytesOf(state));
    await u.writeJson('metrics/history.json', history);
    log(`done ${process.pid}`);
    return { steps, first: history[0], last: history[history.length - 1] };
  });
  const state = createHash('sha256')
    .update(await unit.readFile('state.bin'))
    .digest('hex');
  const record = {
    computed: unit.computed,
    hash: unit.hash,
    summary: unit.summary,
    state,
    events: events.map((e) => e.type),
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof StoreError ? `[${e.code}] ` : ''}${(e as Error).message}\n`);
  process.exit(2);
});
