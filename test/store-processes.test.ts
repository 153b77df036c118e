/**
 * Reliability of the store with real processes: kill -9 at random points, concurrent computations
 * of one unit, stale locks, a full disk. The children run test/store-worker.ts against the compiled
 * store (no mocks inside the store itself).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore } from '../lib/store';
import { HOST_ID } from '../lib/store/lock';
import type { WorkerArgs } from './store-worker';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const WORKER = path.join(__dirname, 'store-worker.js');
const ENOSPC = path.join(__dirname, 'store-enospc.js');

interface WorkerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  output?: { computed: boolean; hash: string; summary: unknown; state: string; events: string[] };
}

/** Starts a worker; `killAfterMs` sends SIGKILL at that time (if it is still running). */
function runWorker(
  args: WorkerArgs,
  options: { killAfterMs?: number; env?: NodeJS.ProcessEnv; preload?: boolean } = {},
) {
  const child = spawn(process.execPath, [...(options.preload ? ['-r', ENOSPC] : []), WORKER, JSON.stringify(args)], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer =
    options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
  const done = new Promise<WorkerResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop();
      resolve({ code, signal, stdout, stderr, output: code === 0 && line ? JSON.parse(line) : undefined });
    });
  });
  return { child, done };
}

const tempDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `lmc-${name}-`));
const logLines = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];

/** Everything under `dir` (relative paths), to look for temp files, locks and attempt folders. */
function walk(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    return e.isDirectory() ? [`${rel}/`, ...walk(path.join(dir, e.name), `${rel}/`)] : [rel];
  });
}

/** The unit's output bytes, read through a fresh store (so verified). */
async function outputs(root: string, config: WorkerArgs['config']) {
  const unit = await openStore({ root, onEvent: () => undefined }).get('count', config);
  if (!unit) return null;
  return {
    state: await unit.readFile('state.bin'),
    history: await unit.readFile('metrics/history.json'),
    summary: unit.summary,
  };
}

/** A small deterministic random stream, so a failing run can be replayed from its printed seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('kill -9 at random points: reruns resume, bit-identical results, nothing unfinished ever finished', async () => {
  const seed = Number(process.env.LMC_TEST_SEED ?? Date.now() % 1e9);
  const rand = random(seed);
  const note = `(replay with LMC_TEST_SEED=${seed})`;
  const base = { steps: 1500, every: 25 };
  const stepMs = 1;
  const references = new Map<number, Promise<Awaited<ReturnType<typeof outputs>>>>();
  const reference = (configSeed: number) => {
    if (!references.has(configSeed)) {
      const root = path.join(tempDir('ref'), 'store');
      const config = { seed: configSeed, ...base };
      references.set(
        configSeed,
        runWorker({ root, config, stepMs }).done.then(async (r) => {
          assert.equal(r.code, 0, r.stderr);
          return outputs(root, config);
        }),
      );
    }
    return references.get(configSeed)!;
  };

  const root = path.join(tempDir('kill'), 'store');
  const log = path.join(root, '..', 'log.txt');
  let configSeed = 1;
  void reference(configSeed); // computed alongside the kills, in its own store
  let midKills = 0;
  let resumedFromCheckpoint = 0;
  for (let attempt = 0; midKills < 12 && attempt < 40; attempt++) {
    const config = { seed: configSeed, ...base };
    const before = logLines(log).length;
    // Half the kills at a random time after spawn (start-up, locking, resuming), half at a random time
    // after the computation started, so that a loaded machine's slow start-up cannot starve the latter.
    const early = attempt % 2 === 0;
    const delay = Math.round(early ? 20 + rand() * 300 : rand() * 250);
    const worker = runWorker({ root, config, stepMs, log });
    let exited = false;
    void worker.done.then(() => (exited = true));
    if (!early)
      while (
        !exited &&
        !logLines(log)
          .slice(before)
          .some((l) => l.startsWith('start'))
      )
        await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, delay));
    worker.child.kill('SIGKILL');
    const result = await worker.done;
    const lines = logLines(log).slice(before);
    const store = openStore({ root, onEvent: () => undefined });
    const finished = await store.get('count', config);
    const listed = (await store.list({ verify: 'checksums' })).find(
      (u) => u.hash === store.identify('count', config).hash,
    );
    if (result.signal === 'SIGKILL') {
      if (!lines.some((l) => l.startsWith('done '))) {
        assert.equal(finished, null, `a unit killed before its computation returned must not be finished ${note}`);
      }
      if (!finished) midKills++;
    } else {
      assert.equal(result.code, 0, `${result.stderr} ${note}`);
    }
    if (listed) assert.equal(listed.state === 'finished', finished !== null, `list agrees with get ${note}`);
    if (finished) {
      // Finished (the child got through before the kill): it must equal the uninterrupted run.
      const ref = await reference(configSeed);
      assert.deepEqual((await outputs(root, config))!.state, ref!.state, note);
      configSeed++;
      void reference(configSeed);
    }
    // Resumption: each start begins at a checkpoint at least as new as the last one logged before it.
    let lastCheckpoint = 0;
    for (const line of logLines(log)) {
      const [what, , step] = line.split(' ');
      if (what === 'ckpt') lastCheckpoint = Number(step);
      if (what === 'done') lastCheckpoint = 0;
      if (what === 'start') {
        assert.ok(
          Number(step) >= lastCheckpoint,
          `resumed from ${step}, but step ${lastCheckpoint} had been checkpointed ${note}`,
        );
        assert.equal(Number(step) % base.every, 0, note);
      }
    }
  }
  for (const line of logLines(log)) if (/^start \d+ [1-9]/.test(line)) resumedFromCheckpoint++;
  assert.ok(midKills >= 12, `only ${midKills} kills landed mid-computation ${note}`);
  assert.ok(resumedFromCheckpoint >= 3, `only ${resumedFromCheckpoint} runs resumed from a checkpoint ${note}`);

  // Let the last unit finish, and compare with its uninterrupted twin bit for bit.
  const config = { seed: configSeed, ...base };
  const final = await runWorker({ root, config, stepMs, log }).done;
  assert.equal(final.code, 0, final.stderr);
  const got = await outputs(root, config);
  const ref = await reference(configSeed);
  assert.ok(got && ref);
  assert.deepEqual(got.state, ref.state, `final weights differ from an uninterrupted run ${note}`);
  assert.deepEqual(got.history, ref.history, note);
  assert.deepEqual(got.summary, ref.summary, note);
  // What kills leave behind (lock files of interrupted lock operations in units finished since, checkpoints
  // of a unit killed between its commit and its cleanup) is gc's job; it must remove exactly that.
  const leftovers = () => walk(root).filter((p) => /(^|\/)\.(lock|work-)|\.tmp$|partial\//.test(p));
  for (const p of leftovers())
    assert.match(
      p,
      /\/\.lock\.([0-9a-f]{12}-\d+-[0-9a-f]+\.new|[0-9a-f]+\.aside)$|\/partial\//,
      'only known leftovers',
    );
  const gc = await openStore(root).gc();
  assert.deepEqual(leftovers(), [], 'gc removes every leftover');
  assert.ok(
    gc.removed.every((r) => !/unfinished|corrupt/.test(r.reason)),
    'gc removed no unit',
  );
  assert.ok(await openStore(root).get('count', config), 'the final unit survives gc');
});

test('two processes computing the same unit at once: computed once, both get the same result', async () => {
  const root = path.join(tempDir('concurrent'), 'store');
  const log = path.join(root, '..', 'log.txt');
  const args: WorkerArgs = { root, config: { seed: 7, steps: 300, every: 50 }, stepMs: 1, log, pollMs: 20 };
  const results = await Promise.all([runWorker(args).done, runWorker(args).done, runWorker(args).done]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.equal(logLines(log).filter((l) => l.startsWith('start')).length, 1, logLines(log).join('\n'));
  assert.deepEqual(results.map((r) => r.output!.computed).sort(), [false, false, true]);
  const [a, ...rest] = results.map((r) => r.output!);
  for (const b of rest) {
    assert.equal(b.state, a.state);
    assert.deepEqual(b.summary, a.summary);
    assert.equal(b.hash, a.hash);
  }
  assert.ok(results.some((r) => r.output!.events.includes('waiting')));
});

function writeLock(root: string, config: WorkerArgs['config'], owner: Record<string, unknown>): string {
  const dir = openStore(root).dirOf('count', config);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, '.lock');
  fs.writeFileSync(
    file,
    JSON.stringify({
      format: 'lmc-lab lock 1',
      started: new Date().toISOString(),
      token: 'feedface',
      purpose: 'test',
      ...owner,
    }),
  );
  return file;
}

test('a stale lock from a dead process is recovered once, even by several racing processes', async () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const root = path.join(tempDir('stale'), 'store');
  const log = path.join(root, '..', 'log.txt');
  const config = { seed: 3, steps: 100, every: 20 };
  const lock = writeLock(root, config, { pid: deadPid, host: os.hostname(), hostId: HOST_ID });
  const args: WorkerArgs = { root, config, stepMs: 1, log, pollMs: 10 };
  const results = await Promise.all([1, 2, 3, 4].map(() => runWorker(args).done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.equal(logLines(log).filter((l) => l.startsWith('start')).length, 1, 'computed once');
  assert.ok(results.some((r) => r.output!.events.includes('lock-recovered')));
  assert.equal(new Set(results.map((r) => r.output!.state)).size, 1);
  assert.ok(!fs.existsSync(lock));
  assert.deepEqual(
    walk(path.dirname(lock)).filter((p) => p.includes('.lock')),
    [],
    'no lock set aside was left behind',
  );
});

test('a waiting process takes over when the computing process is killed, and resumes its checkpoint', async () => {
  const root = path.join(tempDir('takeover'), 'store');
  const log = path.join(root, '..', 'log.txt');
  const args: WorkerArgs = { root, config: { seed: 11, steps: 800, every: 20 }, stepMs: 1, log, pollMs: 20 };
  const first = runWorker(args);
  while (!logLines(log).some((l) => l.startsWith('ckpt'))) await new Promise((r) => setTimeout(r, 10));
  const second = runWorker(args);
  await new Promise((r) => setTimeout(r, 150));
  first.child.kill('SIGKILL');
  const r = await second.done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.output!.events.filter((e) => e !== 'waiting'),
    ['lock-recovered'],
  );
  const starts = logLines(log)
    .filter((l) => l.startsWith('start'))
    .map((l) => Number(l.split(' ')[2]));
  assert.equal(starts.length, 2);
  assert.ok(starts[1] > 0, "the second process resumed from the first one's checkpoint");
  const ref = await runWorker({ ...args, root: path.join(tempDir('takeover-ref'), 'store'), log: undefined }).done;
  assert.equal(r.output!.state, ref.output!.state);
});

test('a lock of another host is waited on while its heartbeat moves, and recovered once it stops', async () => {
  const root = path.join(tempDir('remote'), 'store');
  const config = { seed: 5, steps: 20, every: 10 };
  const args: WorkerArgs = { root, config, stepMs: 0, staleMs: 600, heartbeatMs: 100, pollMs: 20 };
  // Live remote owner: the test refreshes the heartbeat for 1.2 s,
  // then removes the lock (as if it finished... without result).
  const lock = writeLock(root, config, { pid: 1, host: 'elsewhere', hostId: 'elsewhere/boot' });
  const beat = setInterval(() => fs.utimesSync(lock, new Date(), new Date()), 100);
  setTimeout(() => {
    clearInterval(beat);
    fs.rmSync(lock);
  }, 1200);
  let started = Date.now();
  const live = await runWorker(args).done;
  assert.equal(live.code, 0, live.stderr);
  assert.ok(Date.now() - started >= 1100, 'it waited for the live owner');
  assert.deepEqual(live.output!.events, ['waiting'], 'a lock with a moving heartbeat is never stolen');

  // Dead remote owner: the heartbeat stays still, so after staleMs the lock is recovered.
  const config2 = { ...config, seed: 6 };
  writeLock(root, config2, { pid: 1, host: 'elsewhere', hostId: 'elsewhere/boot' });
  started = Date.now();
  const stale = await runWorker({ ...args, config: config2 }).done;
  assert.equal(stale.code, 0, stale.stderr);
  assert.ok(Date.now() - started >= 550, 'it waited staleMs before recovering');
  assert.deepEqual(stale.output!.events, ['waiting', 'lock-recovered']);
});

test('a long computation on another host keeps its lock alive by heartbeat; waiters do not steal it', async () => {
  const root = path.join(tempDir('heartbeat'), 'store');
  const log = path.join(root, '..', 'log.txt');
  const args: WorkerArgs = {
    root,
    config: { seed: 13, steps: 1000, every: 100 },
    stepMs: 1,
    log,
    staleMs: 400,
    heartbeatMs: 100,
    pollMs: 20,
  };
  const owner = runWorker(args);
  while (!logLines(log).some((l) => l.startsWith('start'))) await new Promise((r) => setTimeout(r, 5));
  // Make the owner look remote (same file, same token), so only its heartbeat can keep it alive.
  const lock = path.join(openStore(root).dirOf('count', args.config), '.lock');
  const record = JSON.parse(fs.readFileSync(lock, 'utf8'));
  fs.writeFileSync(lock, JSON.stringify({ ...record, host: 'elsewhere', hostId: 'elsewhere/boot' }));
  const waiter = await runWorker(args).done;
  const first = await owner.done;
  assert.equal(first.code, 0, first.stderr);
  assert.equal(waiter.code, 0, waiter.stderr);
  assert.deepEqual(waiter.output!.events, ['waiting'], 'the lock was never judged stale');
  assert.equal(logLines(log).filter((l) => l.startsWith('start')).length, 1);
  assert.equal(waiter.output!.state, first.output!.state);
  assert.ok(first.output!.computed && !waiter.output!.computed);
});

/** Checks that a failed run left the store consistent: nothing finished, no lock, no temp files, nothing corrupt. */
async function assertConsistent(root: string, config: WorkerArgs['config'], why: string) {
  const store = openStore({ root, onEvent: () => undefined });
  assert.equal(await store.get('count', config), null, why);
  assert.equal((await store.verify()).corrupt.length, 0, why);
  assert.deepEqual(
    walk(root).filter((p) => /(^|\/)\.(lock|work-)|\.tmp$/.test(p)),
    [],
    `${why}: no lock, attempt folder or temp file is left`,
  );
}

test('a full disk (injected ENOSPC at every phase) gives a clear error and leaves the store consistent', async () => {
  const config = { seed: 9, steps: 60, every: 10 };
  const measureRoot = path.join(tempDir('enospc-measure'), 'store');
  const countFile = path.join(measureRoot, '..', 'count');
  const measured = await runWorker(
    { root: measureRoot, config, stepMs: 0 },
    { preload: true, env: { LMC_TEST_WRITE_COUNT: countFile } },
  ).done;
  assert.equal(measured.code, 0, measured.stderr);
  const total = Number(fs.readFileSync(countFile, 'utf8'));
  assert.ok(total > 1000, `the run writes ${total} bytes`);
  const budgets = [0, 40, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97].map((f) => (f < 1 && f > 0 ? Math.floor(total * f) : f));
  budgets.push(total - 100); // inside the last write, the manifest (sizes vary by a few bytes: pids, times)
  const results = await Promise.all(
    budgets.map(async (budget) => {
      const root = path.join(tempDir('enospc'), 'store');
      const r = await runWorker(
        { root, config, stepMs: 0 },
        { preload: true, env: { LMC_TEST_WRITE_BUDGET: String(budget) } },
      ).done;
      return { budget, root, r };
    }),
  );
  for (const { budget, root, r } of results) {
    const why = `budget ${budget} of ${total} bytes`;
    assert.equal(r.code, 2, `${why}: the run must fail (${r.stdout})`);
    assert.match(r.stderr, /ENOSPC: no space left on device/, why);
    assert.match(r.stderr, /the disk or quota is full: free space, or point LMC_HOME at a larger disk/, why);
    assert.ok(r.stderr.includes(root), `${why}: the error names the path: ${r.stderr}`);
    await assertConsistent(root, config, why);
    // Space freed: the same store completes the unit, identical to a run that never failed.
    const again = await runWorker({ root, config, stepMs: 0 }).done;
    assert.equal(again.code, 0, `${why}: ${again.stderr}`);
    assert.equal(again.output!.state, measured.output!.state, why);
  }
  assert.match(results[0].r.stderr, /lmc-store\.json: creating the store marker failed/);
  assert.match(results.at(-1)!.r.stderr, /committing the count unit failed: .*manifest\.json: atomic write failed/);
});

test('a real full disk (a 64 KiB tmpfs) gives a clear error; after growing it the unit completes', async (t) => {
  const mountPoint = tempDir('tmpfs');
  if (
    process.platform !== 'linux' ||
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]).status !== 0
  ) {
    const missing = 'cannot mount a tmpfs here (needs root on Linux); the injected-ENOSPC test covers this';
    if (skipWhenMissing(missing)) return t.skip(missing);
    requireTools(missing);
  }
  try {
    const root = path.join(mountPoint, 'store');
    const config = { seed: 2, steps: 3000, every: 100 };
    const full = await runWorker({ root, config, stepMs: 0 }).done;
    assert.equal(full.code, 2, full.stdout);
    assert.match(full.stderr, /ENOSPC: no space left on device/);
    assert.ok(full.stderr.includes(root), full.stderr);
    await assertConsistent(root, config, 'tmpfs full');
    assert.equal(spawnSync('mount', ['-o', 'remount,size=4m', mountPoint]).status, 0);
    const again = await runWorker({ root, config, stepMs: 0 }).done;
    assert.equal(again.code, 0, again.stderr);
    const ref = await runWorker({ root: path.join(tempDir('tmpfs-ref'), 'store'), config, stepMs: 0 }).done;
    assert.equal(again.output!.state, ref.output!.state);
  } finally {
    spawnSync('umount', [mountPoint]);
  }
});
