/**
 * Reliability of `lmc train` as a store unit, with real processes (issue 5, item 4): kill -9 a
 * training at seeded random points, rerunning each time, and end with weights bit-identical (on
 * the cpu backend) to an uninterrupted run; `lmc ls` never reports the unit finished before the
 * last run completes; two concurrent `lmc train` of one config train once and agree.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
const STEPS = 120;
const EVERY = 10;
const KILLS = 12;
const TRAIN_ARGS = [
  'train',
  '--config',
  'lenet_mnist',
  '--scale',
  'smoke',
  '--set',
  `training=${STEPS}it`,
  '--checkpoint-every',
  String(EVERY),
  '--json',
];

function tempHome(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `lmc-reliability-${tag}-`));
}

function envFor(home: string): NodeJS.ProcessEnv {
  return { ...process.env, LMC_BACKEND: 'cpu', LMC_HOME: home };
}

/** mulberry32: a small seeded generator, so the kill points are the same on every run of the test. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Report {
  steps: number;
  testAccuracy: number;
  testError: number;
  trainError: number;
  fromStore: boolean;
  unit: string;
  stepsTrained: number;
  weightsSha256: string;
}

interface Run {
  child: ChildProcess;
  stderr: string;
  stdout: string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Calls `fn` on every stderr line, now and later (the progress markers "lmc train: step N/T"). */
  onLine(fn: (line: string) => void): void;
}

function start(home: string): Run {
  const child = spawn(process.execPath, [LMC, ...TRAIN_ARGS], { env: envFor(home), stdio: ['ignore', 'pipe', 'pipe'] });
  const listeners: ((line: string) => void)[] = [];
  const run: Run = {
    child,
    stderr: '',
    stdout: '',
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    onLine: (fn) => {
      listeners.push(fn);
      for (const line of run.stderr.split('\n')) fn(line);
    },
  };
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    run.stderr += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) for (const fn of listeners) fn(line);
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (run.stdout += chunk));
  return run;
}

async function finished(run: Run): Promise<Report> {
  const { code, signal } = await run.exited;
  assert.equal(code, 0, `lmc train failed (${signal ?? code}):\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one JSON line on stdout, got:\n${run.stdout}`);
  return JSON.parse(lines[0]) as Report;
}

/** The units `lmc ls --json` reports in `home`. */
function listUnits(home: string): { hash: string; state: string; kind: string }[] {
  const ls = spawnSync(process.execPath, [LMC, 'ls', '--json'], { env: envFor(home), encoding: 'utf8' });
  assert.equal(ls.status, 0, ls.stderr);
  return (JSON.parse(ls.stdout) as { units: { hash: string; state: string; kind: string }[] }).units;
}

/** sha256 of the unit's committed state file, read straight from the store folder. */
function stateFileSha(home: string, unit: string): string {
  return createHash('sha256')
    .update(fs.readFileSync(path.join(home, 'store', 'trunk', unit, 'state.safetensors')))
    .digest('hex');
}

let reference: Report | null = null;

test('two `lmc train` of a config at once: one trains, the other waits and reads the store; same results', async () => {
  const home = tempHome('concurrent');
  try {
    const a = start(home);
    const b = start(home);
    const [ra, rb] = await Promise.all([finished(a), finished(b)]);
    const trainers = [ra, rb].filter((r) => !r.fromStore);
    assert.equal(
      trainers.length,
      1,
      `exactly one process trains; got fromStore ${ra.fromStore}, ` +
        `${rb.fromStore}\n--- a:\n${a.stderr}\n--- b:\n${b.stderr}`,
    );
    assert.equal(trainers[0].stepsTrained, STEPS, 'the trainer ran the whole training uninterrupted');
    const waiter = ra.fromStore ? { r: ra, run: a } : { r: rb, run: b };
    assert.equal(waiter.r.stepsTrained, 0);
    assert.doesNotMatch(waiter.run.stderr, /training steps/, 'the waiting process trained nothing');
    assert.match(waiter.run.stderr, /found in the store/);
    assert.equal(ra.unit, rb.unit);
    assert.match(ra.weightsSha256, /^[0-9a-f]{64}$/);
    assert.equal(ra.weightsSha256, rb.weightsSha256);
    for (const field of ['testAccuracy', 'testError', 'trainError'] as const) assert.equal(ra[field], rb[field], field);
    assert.equal(stateFileSha(home, ra.unit), ra.weightsSha256);
    const units = listUnits(home);
    assert.deepEqual(
      units.map((u) => [u.kind, u.hash, u.state]),
      [['trunk', ra.unit, 'finished']],
    );
    // A third request answers from the store.
    const again = await finished(start(home));
    assert.equal(again.fromStore, true);
    assert.equal(again.weightsSha256, ra.weightsSha256);
    reference = trainers[0];
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test(
  `kill -9 \`lmc train\` at ${KILLS} seeded random points: each rerun resumes from the last checkpoint, ` +
    'the unit is never reported finished early, and it ends bit-identical (cpu) to an uninterrupted run',
  async (t) => {
    assert.ok(reference, 'the uninterrupted reference run of the previous test');
    const home = tempHome('kill');
    const random = seeded(20261125);
    try {
      let resumedRuns = 0;
      const kills: string[] = [];
      for (let i = 0; i < KILLS; i++) {
        const run = start(home);
        // Kill shortly after a random progress marker ahead of where this run resumes, or, on every
        // other run, at a random time after spawn (0.2-3 s: during startup, data loading or
        // training) if that comes first. The marker "step N" is printed just before the checkpoint
        // at N is written, so such kills also land in the middle of checkpoint writes. Markers stop
        // at the last checkpoint (T - EVERY), so no kill can land after the unit's commit. The runs
        // killed by marker alone make progress however slow the machine is.
        const delayMs = i % 2 === 0 ? 200 + random() * 2800 : Infinity;
        const aheadCheckpoints = 1 + Math.floor(random() * 2);
        const extraMs = random() * 150;
        let resumeFrom: number | null = null;
        const reason = await new Promise<string>((resolve) => {
          const timer = Number.isFinite(delayMs)
            ? setTimeout(() => resolve(`after ${Math.round(delayMs)} ms`), delayMs)
            : undefined;
          run.onLine((line) => {
            const training = /training steps (\d+) -> /.exec(line);
            if (training) {
              resumeFrom = Number(training[1]);
              if (/resuming from its checkpoint/.test(line)) resumedRuns++;
            }
            const step = /^lmc train: step (\d+)\//.exec(line);
            const target = Math.min(STEPS - EVERY, (resumeFrom ?? 0) + EVERY * aheadCheckpoints);
            if (step && Number(step[1]) >= target) {
              clearTimeout(timer);
              setTimeout(() => resolve(`${Math.round(extraMs)} ms after step ${step[1]}`), extraMs);
            }
          });
          run.exited.then(() => {
            clearTimeout(timer);
            resolve('exited');
          });
        });
        assert.notEqual(reason, 'exited', `run ${i} ended before it was killed:\n${run.stderr}\n${run.stdout}`);
        run.child.kill('SIGKILL');
        const { signal } = await run.exited;
        assert.equal(signal, 'SIGKILL', `run ${i} was killed`);
        assert.equal(run.stdout, '', `a killed run printed no result`);
        kills.push(
          `${reason} (${resumeFrom === null ? 'before training started' : `training from step ${resumeFrom}`})`,
        );
        for (const unit of listUnits(home)) {
          assert.notEqual(
            unit.state,
            'finished',
            `after kill ${i} (${reason}) lmc ls reports ${unit.kind} ${unit.hash} finished`,
          );
        }
      }
      t.diagnostic(`kills: ${kills.join('; ')}`);
      const last = start(home);
      const report = await finished(last);
      assert.equal(report.fromStore, false);
      assert.ok(
        report.stepsTrained < STEPS,
        `the last run resumed from a checkpoint (trained ${report.stepsTrained} of ${STEPS}); ` +
          `kills: ${kills.join('; ')}`,
      );
      assert.ok(resumedRuns >= 1, `some killed run resumed from a checkpoint; kills: ${kills.join('; ')}`);
      assert.equal(report.unit, reference!.unit, 'same config, same unit');
      assert.equal(
        report.weightsSha256,
        reference!.weightsSha256,
        `final weights and optimizer state bit-identical to the uninterrupted run; kills: ${kills.join('; ')}`,
      );
      assert.equal(stateFileSha(home, report.unit), reference!.weightsSha256);
      for (const field of ['testAccuracy', 'testError', 'trainError'] as const)
        assert.equal(report[field], reference![field], field);
      const units = listUnits(home).filter((u) => u.hash === report.unit);
      assert.equal(units.length, 1);
      assert.equal(units[0].state, 'finished');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  },
);
