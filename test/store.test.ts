import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  formatGcReport,
  formatUnitDetails,
  formatUnitList,
  openStore,
  progressEtaSeconds,
  StoreError,
  unitHash,
  type StoreEvent,
  type StoreOptions,
  type UnitWriter,
} from '../lib/store';
import { DEFAULT_LOCK_TIMING, HOST_ID, HeldLock, describeOwner, waitUntilFree } from '../lib/store/lock';
import { requireTools, skipWhenMissing } from './fixtures/tools';

function tempRoot(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-store-')), 'store');
}

/** A store that records its events instead of printing them. */
function recordingStore(root = tempRoot(), options: StoreOptions = {}) {
  const events: StoreEvent[] = [];
  const store = openStore({ root, onEvent: (e) => events.push(e), ...options });
  return { store, events, root };
}

/** A small deterministic unit: a "weights" file, metrics JSON in a subfolder, a summary. */
function counted() {
  let calls = 0;
  const fn = async (u: UnitWriter) => {
    calls++;
    const config = u.config as { n: number };
    await u.writeFile('weights.bin', Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * config.n) & 255)));
    await u.writeJson('metrics/eval.json', { accuracy: 0.5 + config.n / 100 });
    return { accuracy: 0.5 + config.n / 100 };
  };
  return { fn, calls: () => calls };
}

test('a finished unit is returned from the store without recomputation', async () => {
  const { store, events } = recordingStore();
  const { fn, calls } = counted();
  const first = await store.compute('train', { n: 3, lr: 0.1 }, fn);
  assert.equal(first.computed, true);
  assert.deepEqual(first.summary, { accuracy: 0.53 });
  assert.deepEqual(first.files, ['metrics/eval.json', 'weights.bin']);
  const second = await store.compute('train', { lr: 0.1, n: 3 }, fn);
  assert.equal(second.computed, false);
  assert.equal(calls(), 1);
  assert.equal(second.hash, first.hash);
  assert.deepEqual(await second.readJson('metrics/eval.json'), { accuracy: 0.53 });
  // A fresh Store object (as in a new notebook session) also answers from disk, verified, quickly.
  const reopened = openStore(store.root);
  const started = performance.now();
  const got = await reopened.get('train', { n: 3, lr: 0.1 });
  assert.ok(got && performance.now() - started < 1000);
  assert.equal(got.hash, unitHash('train', { n: 3, lr: 0.1 }));
  assert.equal(await store.get('train', { n: 4, lr: 0.1 }), null);
  await store.compute('train', { n: 4, lr: 0.1 }, fn);
  assert.equal(calls(), 2);
  assert.deepEqual(events, []);
  // Layout: <root>/<kind>/<hash>/ with config.json holding the hashed text, manifest last.
  const dir = path.join(store.root, 'train', first.hash);
  assert.equal(first.dir, dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'manifest.json', 'metrics', 'weights.bin']);
  assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), '{"config":{"lr":0.1,"n":3},"kind":"train"}\n');
});

test('concurrent requests in one process share one computation', async () => {
  const { store } = recordingStore();
  const { fn, calls } = counted();
  const results = await Promise.all([1, 2, 3].map(() => store.compute('train', { n: 7 }, fn)));
  assert.equal(calls(), 1);
  assert.deepEqual(results.map((r) => r.computed).sort(), [false, false, true]);
});

async function corruptAndRecompute(damage: (file: string) => void, target: string, expectProblem: RegExp) {
  const { store, events } = recordingStore();
  const { fn, calls } = counted();
  const unit = await store.compute('train', { n: 5 }, fn);
  const file = path.join(unit.dir, target);
  const original = fs.readFileSync(file);
  damage(file);
  assert.equal(await store.get('train', { n: 5 }), null, 'a damaged unit is not finished');
  const corrupt = events.filter((e) => e.type === 'corrupt');
  assert.ok(corrupt.length >= 1);
  assert.equal(corrupt[0].type === 'corrupt' && corrupt[0].file, target);
  assert.match(corrupt[0].message, expectProblem);
  assert.ok(corrupt[0].message.includes(file), 'the report names the file');
  // list() checks sizes only (it must stay fast on big stores); with checksums it sees every damage.
  assert.equal((await store.list({ verify: 'checksums' }))[0].state, 'corrupt');
  const again = await store.compute('train', { n: 5 }, fn);
  assert.equal(again.computed, true);
  assert.equal(calls(), 2);
  // The manifest records times, so only the unit's own files are compared byte for byte.
  if (target !== 'manifest.json') assert.deepEqual(fs.readFileSync(file), original);
  assert.ok(await store.get('train', { n: 5 }));
  assert.equal((await store.verify()).corrupt.length, 0);
}

test('a truncated output is detected, reported with sizes, and recomputed', async () => {
  await corruptAndRecompute(
    (f) => fs.truncateSync(f, 100),
    'weights.bin',
    /size differs \(truncated\) \(expected 1000 bytes, found 100 bytes\)/,
  );
});

test('a flipped bit (same size, same mtime) is detected by checksum and recomputed', async () => {
  await corruptAndRecompute(
    (f) => {
      const { atime, mtime } = fs.statSync(f);
      const bytes = fs.readFileSync(f);
      bytes[500] ^= 0x10;
      fs.writeFileSync(f, bytes);
      fs.utimesSync(f, atime, mtime); // ctime still moves, so the per-process hash cache cannot hide it
    },
    'weights.bin',
    /SHA-256 differs .*expected sha256 [0-9a-f]{64}, found sha256 [0-9a-f]{64}/,
  );
});

test('a damaged metrics file, config.json or manifest is detected and recomputed', async () => {
  await corruptAndRecompute(
    (f) => fs.writeFileSync(f, '{"accuracy": 0.99}\n'),
    'metrics/eval.json',
    /metrics\/eval\.json: size differs/,
  );
  await corruptAndRecompute(
    (f) => fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('5', '6')),
    'config.json',
    /SHA-256 differs/,
  );
  await corruptAndRecompute(
    (f) => fs.writeFileSync(f, fs.readFileSync(f, 'utf8').slice(0, 50)),
    'manifest.json',
    /not valid JSON/,
  );
  await corruptAndRecompute((f) => fs.rmSync(f), 'weights.bin', /the file is missing/);
});

test('a file removed with its manifest entry is found (the manifest is sealed) and the unit recomputed', async () => {
  await corruptAndRecompute(
    (f) => {
      const dir = path.dirname(f);
      fs.rmSync(path.join(dir, 'weights.bin'));
      const manifest = JSON.parse(fs.readFileSync(f, 'utf8'));
      delete manifest.files['weights.bin'];
      fs.writeFileSync(f, JSON.stringify(manifest, null, 2) + '\n');
    },
    'manifest.json',
    /the manifest was changed after it was committed \(its seal does not match\)/,
  );
  await corruptAndRecompute(
    (f) => {
      const manifest = JSON.parse(fs.readFileSync(f, 'utf8'));
      delete manifest.seal;
      fs.writeFileSync(f, JSON.stringify(manifest, null, 2) + '\n');
    },
    'manifest.json',
    /the manifest has no seal/,
  );
});

test('a finished unit read after it changed on disk throws instead of returning other bytes', async () => {
  const { store } = recordingStore();
  const unit = await store.compute('train', { n: 1 }, counted().fn);
  fs.writeFileSync(unit.path('weights.bin'), Buffer.alloc(1000));
  await assert.rejects(
    unit.readFile('weights.bin'),
    (e: unknown) => e instanceof StoreError && e.code === 'CORRUPT' && /weights\.bin: SHA-256 differs/.test(e.message),
  );
  assert.throws(() => unit.path('nope.bin'), /has no file "nope\.bin"; it has "metrics\/eval\.json", "weights\.bin"/);
});

test('a failing computation commits nothing; the next request resumes from its checkpoint', async () => {
  const { store } = recordingStore();
  const seen: (number | null)[] = [];
  const run = (failAt: number | null) =>
    store.compute('loop', { steps: 10 }, async (u) => {
      const from = await u.latestCheckpoint();
      seen.push(from ? from.step : null);
      let total = from ? Number(from.files.get('total')!.toString()) : 0;
      for (let step = (from?.step ?? 0) + 1; step <= 10; step++) {
        total += step;
        if (step === failAt) throw new Error(`boom at ${step}`);
        if (step % 3 === 0) await u.checkpoint(step, { total: Buffer.from(String(total)) }, { note: 'every 3' });
      }
      await u.writeFile('total.txt', String(total));
      return { total };
    });
  await assert.rejects(
    run(8),
    (e: unknown) =>
      e instanceof StoreError && e.code === 'COMPUTE_FAILED' && /boom at 8.*Nothing was committed/.test(e.message),
  );
  const [info] = await store.list();
  assert.equal(info.state, 'unfinished');
  assert.equal(info.checkpointStep, 6);
  assert.equal(await store.get('loop', { steps: 10 }), null);
  const done = await run(null);
  assert.deepEqual(seen, [null, 6]);
  assert.deepEqual(done.summary, { total: 55 });
  assert.equal(await done.readText('total.txt'), '55');
  assert.ok(!fs.existsSync(path.join(done.dir, 'partial')), 'checkpoints go once committed');
});

test('a damaged checkpoint is reported and skipped for the previous one', async () => {
  const { store, events } = recordingStore();
  const dir = store.dirOf('loop', { x: 1 });
  await assert.rejects(
    store.compute('loop', { x: 1 }, async (u) => {
      for (const step of [1, 2, 3]) await u.checkpoint(step, { s: Buffer.from(`state ${step}`) });
      throw new Error('interrupted');
    }),
  );
  // keepCheckpoints = 2: steps 2 and 3 remain. Damage step 3.
  assert.deepEqual(fs.readdirSync(path.join(dir, 'partial')).sort(), ['000000000002', '000000000003']);
  fs.writeFileSync(path.join(dir, 'partial', '000000000003', 's'), 'state X');
  const unit = await store.compute('loop', { x: 1 }, async (u) => {
    const from = await u.latestCheckpoint();
    return { from: from?.step ?? null, bytes: from?.files.get('s')!.toString() ?? null };
  });
  assert.deepEqual(unit.summary, { from: 2, bytes: 'state 2' });
  const report = events.find((e) => e.type === 'checkpoint-corrupt');
  assert.ok(
    report && /000000000003[/\\]s: resume checkpoint at step 3 is damaged \(SHA-256 differs/.test(report.message),
  );
});

test('bad requests fail clearly and leave the store untouched', async () => {
  const { store } = recordingStore();
  const fail = (code: string, re: RegExp) => (e: unknown) =>
    e instanceof StoreError && e.code === code && re.test(e.message);
  await assert.rejects(
    store.compute('Bad Kind', {}, async () => null),
    fail('INVALID_KIND', /"Bad Kind" is not valid/),
  );
  await assert.rejects(
    store.compute('train', { lr: NaN }, async () => null),
    fail('INVALID_CONFIG', /config\.lr: NaN/),
  );
  await assert.rejects(
    store.compute('train', {}, 'nope' as never),
    fail('INVALID_CONFIG', /must be an async function/),
  );
  await assert.rejects(
    store.compute('train', { a: 1 }, async (u) => {
      await u.writeFile('../escape', 'x');
    }),
    fail('COMPUTE_FAILED', /file name "\.\.\/escape" has an invalid part/),
  );
  await assert.rejects(
    store.compute('train', { a: 2 }, async () => ({ loss: NaN })),
    fail('INVALID_SUMMARY', /summary\.loss: NaN cannot be stored/),
  );
  await assert.rejects(
    store.compute('train', { a: 3 }, async (u) => {
      await u.checkpoint(-1, { s: Buffer.from('x') });
    }),
    fail('COMPUTE_FAILED', /step -1 must be a non-negative integer/),
  );
  let late: UnitWriter | undefined;
  await store.compute('train', { a: 4 }, async (u) => {
    late = u;
  });
  await assert.rejects(late!.writeFile('x.bin', 'x'), /after the unit's computation returned/);
  assert.throws(
    () => openStore({ root: store.root, staleMs: 1000, heartbeatMs: 900 }),
    /heartbeatMs \(900\) must be at most half of staleMs/,
  );
  assert.throws(() => openStore({ root: store.root, pollMs: -1 }), /pollMs must be a positive number/);
  const states = (await store.list()).map((u) => u.state).sort();
  assert.deepEqual(states, ['finished', 'unfinished', 'unfinished', 'unfinished']);
  assert.equal((await store.verify()).corrupt.length, 0);
});

test('list, show and their text forms', async () => {
  const { store } = recordingStore();
  const { fn } = counted();
  const a = await store.compute('train', { n: 1, model: 'lenet_300_100' }, fn);
  await store.compute('eval', { n: 2 }, fn);
  await assert.rejects(
    store.compute('train', { n: 3 }, async (u) => {
      await u.checkpoint(40, { s: Buffer.from('x') });
      throw new Error('stop');
    }),
  );
  const units = await store.list();
  assert.deepEqual(units.map((u) => [u.kind, u.state]).sort(), [
    ['eval', 'finished'],
    ['train', 'finished'],
    ['train', 'unfinished'],
  ]);
  const text = formatUnitList(units);
  assert.match(text, /^HASH\s+KIND\s+STATE\s+SIZE\s+MODIFIED\s+CONFIG$/m);
  assert.match(
    text,
    new RegExp(
      `^${a.hash.slice(0, 12)}\\s+train\\s+finished\\s+[\\d.]+ KiB\\s+\\d{4}-\\d\\d-\\d\\d ` +
        `\\d\\d:\\d\\d\\s+model=lenet_300_100 n=1$`,
      'm',
    ),
  );
  assert.match(text, /unfinished@40/);
  assert.match(text, /3 units \(2 finished, 1 unfinished\)/);
  assert.deepEqual(
    (await store.list({ kind: 'eval' })).map((u) => u.kind),
    ['eval'],
  );

  const shown = await store.show(a.hash.slice(0, 8));
  assert.equal(shown.hash, a.hash);
  assert.equal((await store.show(`train/${a.hash.slice(0, 6)}`)).hash, a.hash);
  const details = formatUnitDetails(shown);
  assert.match(details, /^state {5}finished$/m);
  assert.match(details, /"accuracy": 0\.51/);
  assert.match(details, /weights\.bin\s+1000 B\s+sha256 [0-9a-f]{16}/);
  await assert.rejects(
    store.show('zz'),
    (e: unknown) => e instanceof StoreError && e.code === 'NOT_FOUND' && /"zz" is not a unit hash/.test(e.message),
  );
  await assert.rejects(store.show('f'.repeat(20)), /no unit has a hash starting with/);
  await assert.rejects(store.show(''), /is not a unit hash/);
});

test('a running unit reports its step; the record goes at commit, stays on failure, as where it stopped', async () => {
  const { store, root } = recordingStore();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reported!: () => void;
  const hasReported = new Promise<void>((resolve) => (reported = resolve));
  const running = store.compute('train', { n: 7 }, async (u) => {
    await u.reportProgress({
      step: 30,
      from: 10,
      to: 110,
      startedAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:04.000Z',
    });
    reported();
    await gate;
    await u.writeFile('w.bin', 'w');
  });
  await hasReported;
  // A reader sees it as another process would: the folder, the lock and the record.
  const [live] = await openStore({ root }).list();
  assert.equal(live.state, 'running');
  assert.deepEqual(live.progress, {
    step: 30,
    from: 10,
    to: 110,
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:04.000Z',
  });
  // 20 steps took 4 s; 80 are left: 16 s.
  assert.equal(progressEtaSeconds(live.progress!), 16);
  assert.match(formatUnitList([live]), /running@30\/110/);
  assert.match(
    formatUnitDetails(live),
    /^progress  step 30 of 110 \(this attempt from 10\) at 2026-01-01T00:00:04\.000Z, about 16s left$/m,
  );
  release();
  const done = await running;
  const [finished] = await store.list();
  assert.equal(finished.state, 'finished');
  assert.equal(finished.progress, null);
  assert.ok(!fs.existsSync(path.join(done.dir, '.progress.json')), 'the record is not left beside a committed unit');
  assert.deepEqual(done.files, ['w.bin'], 'the record is never an output');

  await assert.rejects(
    store.compute('train', { n: 8 }, async (u) => {
      await u.reportProgress({
        step: 5,
        from: 0,
        to: 50,
        startedAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:01.000Z',
      });
      throw new Error('stop');
    }),
  );
  const failed = (await store.list()).find((u) => u.state === 'unfinished')!;
  assert.equal(failed.progress?.step, 5);
  // No ETA before a step was timed, and a damaged record reads as none.
  assert.equal(
    progressEtaSeconds({
      step: 0,
      from: 0,
      to: 9,
      startedAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    }),
    null,
  );
  fs.writeFileSync(path.join(failed.dir, '.progress.json'), '{"step": "5"');
  assert.equal((await store.list()).find((u) => u.state === 'unfinished')!.progress, null);
});

test('gc removes unfinished units and leftovers only, never a finished unit or a live one', async () => {
  const { store, root } = recordingStore();
  const { fn } = counted();
  const keep = await store.compute('train', { n: 1 }, fn);
  const keepBytes = fs.readFileSync(keep.path('weights.bin'));
  await assert.rejects(
    store.compute('train', { n: 2 }, async (u) => {
      await u.checkpoint(1, { s: Buffer.from('x') });
      throw new Error('stop');
    }),
  );
  // Leftovers a crash could leave in a finished unit: an attempt folder, a temp file, stale checkpoints.
  fs.mkdirSync(path.join(keep.dir, '.work-dead'));
  fs.writeFileSync(path.join(keep.dir, '.work-dead', 'w.bin'), 'x');
  fs.writeFileSync(path.join(keep.dir, '.weights.bin.123.abc.tmp'), 'x');
  fs.writeFileSync(path.join(keep.dir, 'metrics', '.eval.json.9.ff.tmp'), 'x');
  fs.mkdirSync(path.join(keep.dir, 'partial', '000000000001'), { recursive: true });
  // A unit being computed right now by a live process (this one) must be left alone.
  let release!: () => void;
  const running = store.compute('train', { n: 3 }, async (u) => {
    await u.writeFile('a.bin', 'a');
    await new Promise<void>((r) => (release = r));
    return null;
  });
  while (!release) await new Promise((r) => setTimeout(r, 5));

  const dry = await store.gc({ dryRun: true });
  assert.ok(dry.removed.length > 0);
  assert.ok(fs.existsSync(store.dirOf('train', { n: 2 })), 'a dry run removes nothing');
  const report = await store.gc();
  const reasons = report.removed.map((r) => `${path.relative(root, r.path)}: ${r.reason}`).sort();
  assert.deepEqual(reasons, [
    `train/${keep.hash}/.weights.bin.123.abc.tmp: temp file of an interrupted write`,
    `train/${keep.hash}/.work-dead: work folder of an interrupted attempt`,
    `train/${keep.hash}/metrics/.eval.json.9.ff.tmp: temp file of an interrupted write`,
    `train/${keep.hash}/partial: checkpoints of a committed unit`,
    `train/${unitHash('train', { n: 2 })}/config.json: unfinished unit`,
    `train/${unitHash('train', { n: 2 })}/partial: unfinished unit`,
  ]);
  assert.match(report.kept.map((k) => k.reason).join('\n'), /locked by process \d+ on/);
  assert.match(formatGcReport(report), /removed .*unfinished unit/);
  assert.ok(!fs.existsSync(store.dirOf('train', { n: 2 })));
  assert.deepEqual(fs.readFileSync(keep.path('weights.bin')), keepBytes);
  assert.ok(await store.get('train', { n: 1 }));
  release();
  assert.equal((await running).computed, true);
  assert.equal((await store.verify()).finished, 2);

  // gc refuses to touch a folder that is not a store.
  const notStore = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-not-store-'));
  fs.mkdirSync(path.join(notStore, 'train', 'a'.repeat(64)), { recursive: true });
  await assert.rejects(openStore(notStore).gc(), (e: unknown) => e instanceof StoreError && e.code === 'NOT_A_STORE');
  assert.ok(fs.existsSync(path.join(notStore, 'train', 'a'.repeat(64))));
});

test('an owner record left empty by a kill is removed when its process is dead, kept while it lives', async () => {
  const { store } = recordingStore();
  const unit = await store.compute('train', { n: 1 }, counted().fn);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const deadPid = Number(dead.stdout.toString());
  // Named as the lock module names this host's records: '.lock.<sha256(HOST_ID)[0:12]>-<pid>-<token>.new'.
  const names = (pid: number) =>
    `.lock.${createHash('sha256').update(HOST_ID).digest('hex').slice(0, 12)}-${pid}-abc123.new`;
  fs.writeFileSync(path.join(unit.dir, names(deadPid)), '');
  fs.writeFileSync(path.join(unit.dir, names(process.pid)), '');
  const report = await store.gc();
  assert.deepEqual(
    report.removed.map((r) => path.basename(r.path)),
    [names(deadPid)],
  );
  assert.ok(fs.existsSync(path.join(unit.dir, names(process.pid))), "a live process's record is left to it");
});

test('gc with keepResumable keeps resumable interrupted units; corrupt units only with corrupt: true', async () => {
  const { store } = recordingStore();
  await assert.rejects(
    store.compute('train', { n: 2 }, async (u) => {
      await u.checkpoint(5, { s: Buffer.from('x') });
      throw new Error('stop');
    }),
  );
  const bad = await store.compute('train', { n: 9 }, counted().fn);
  fs.truncateSync(bad.path('weights.bin'), 1);
  const report = await store.gc({ keepResumable: true });
  assert.equal(report.removed.length, 0);
  const kept = report.kept.map((k) => k.reason).join('\n');
  assert.match(kept, /unfinished, resumable from step 5/);
  assert.match(
    kept,
    /corrupt, kept for inspection \(gc --corrupt removes it\): .*weights\.bin: size differs \(truncated\)/,
  );
  const harsh = await store.gc({ corrupt: true });
  assert.ok(harsh.removed.some((r) => /corrupt unit/.test(r.reason)));
  assert.deepEqual(await store.list(), []);
});

test('tables export to CSV, JSON and Arrow (arquero 8 with flechette 2.6.0), into a unit or a path', async () => {
  const aq = require('arquero') as typeof import('arquero');
  const table = aq.table({ k: [0, 100, 500], error: [0.02, 0.025, NaN], name: ['a', 'b', null] });
  const { store } = recordingStore();
  const unit = await store.compute('sweep', { k: [0, 100, 500] }, async (u) => {
    assert.deepEqual(await u.writeTable('tables/instability', table), [
      'tables/instability.csv',
      'tables/instability.json',
      'tables/instability.arrow',
    ]);
    return null;
  });
  assert.equal(await unit.readText('tables/instability.csv'), 'k,error,name\n0,0.02,a\n100,0.025,b\n500,NaN,\n');
  assert.deepEqual(await unit.readJson('tables/instability.json'), [
    { k: 0, error: 0.02, name: 'a' },
    { k: 100, error: 0.025, name: 'b' },
    { k: 500, error: null, name: null },
  ]);
  const arrow = await unit.readFile('tables/instability.arrow');
  assert.equal(arrow.subarray(0, 6).toString(), 'ARROW1', 'the Arrow IPC file format');
  const back = aq.fromArrow(arrow);
  assert.deepEqual(back.columnNames(), ['k', 'error', 'name']);
  assert.deepEqual(Array.from(back.array('k') as ArrayLike<number>), [0, 100, 500]);
  assert.ok(Number.isNaN((back.array('error') as ArrayLike<number>)[2]));
  const { exportTable } = await import('../lib/store');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-export-')), 'sub', 'table');
  assert.deepEqual(await exportTable(table, out, ['csv']), [`${out}.csv`]);
  assert.equal(fs.readFileSync(`${out}.csv`, 'utf8').split('\n')[0], 'k,error,name');
  await assert.rejects(exportTable({} as never, out), /expected an arquero table/);
});

test('malformed store entries are reported as what they are, never trusted', async () => {
  const { store, events } = recordingStore(undefined, { staleMs: 400, heartbeatMs: 100, pollMs: 10 });
  const { fn, calls } = counted();
  const problemOf = async (config: object) => {
    events.length = 0;
    assert.equal(await store.get('train', config), null);
    const e = events.find((x) => x.type === 'corrupt');
    return e?.type === 'corrupt' ? `${e.file}: ${e.problem}` : 'no report';
  };
  // A unit folder copied under another hash: its manifest names the other unit.
  const a = await store.compute('train', { n: 1 }, fn);
  const bDir = store.dirOf('train', { n: 2 });
  fs.cpSync(a.dir, bDir, { recursive: true });
  assert.match(await problemOf({ n: 2 }), /manifest\.json: the manifest names another unit/);
  // A manifest whose file list points outside the unit.
  const manifest = JSON.parse(fs.readFileSync(path.join(a.dir, 'manifest.json'), 'utf8'));
  manifest.files['../escape'] = { size: 1, sha256: '0'.repeat(64) };
  fs.writeFileSync(path.join(a.dir, 'manifest.json'), JSON.stringify(manifest));
  assert.match(await problemOf({ n: 1 }), /the file name "\.\.\/escape" leaves the unit folder/);
  // A manifest of an unknown format, and one whose file entry lacks a checksum.
  fs.writeFileSync(path.join(a.dir, 'manifest.json'), JSON.stringify({ ...manifest, format: 'other 9' }));
  assert.match(await problemOf({ n: 1 }), /unknown manifest format/);
  delete manifest.files['../escape'];
  manifest.files['weights.bin'] = { size: 1000 };
  fs.writeFileSync(path.join(a.dir, 'manifest.json'), JSON.stringify(manifest));
  assert.match(await problemOf({ n: 1 }), /the entry for "weights\.bin" has no valid size and sha256/);
  // config.json missing.
  const c = await store.compute('train', { n: 3 }, fn);
  fs.rmSync(path.join(c.dir, 'config.json'));
  assert.match(await problemOf({ n: 3 }), /config\.json: the file is missing/);
  // All of them recompute on request.
  const before = calls();
  for (const n of [1, 2, 3]) assert.equal((await store.compute('train', { n }, fn)).computed, true);
  assert.equal(calls(), before + 3);

  // A lock file with garbage in it (a creator that died mid-write) is recovered after a short grace.
  const dDir = store.dirOf('train', { n: 4 });
  fs.mkdirSync(dDir, { recursive: true });
  fs.writeFileSync(path.join(dDir, '.lock'), '{"pid": 12');
  events.length = 0;
  const started = Date.now();
  assert.equal((await store.compute('train', { n: 4 }, fn)).computed, true);
  assert.ok(Date.now() - started >= 350);
  assert.match(
    events.map((e) => e.message).join('\n'),
    new RegExp(
      /removed a stale lock held by an unknown process /.source +
        /\(the lock file is empty or damaged\): its heartbeat has not been refreshed/.source,
    ),
  );
  // A lock with this process's pid but a token this process never issued (a recycled pid) goes at once.
  const { HOST_ID } = await import('../lib/store/lock');
  const eDir = store.dirOf('train', { n: 5 });
  fs.mkdirSync(eDir, { recursive: true });
  fs.writeFileSync(
    path.join(eDir, '.lock'),
    JSON.stringify({
      format: 'lmc-lab lock 1',
      pid: process.pid,
      host: os.hostname(),
      hostId: HOST_ID,
      started: '2020-01-01T00:00:00Z',
      token: 'old',
      purpose: 'x',
    }),
  );
  events.length = 0;
  assert.equal((await store.compute('train', { n: 5 }, fn)).computed, true);
  assert.match(
    events.map((e) => e.message).join('\n'),
    /carries this process's pid \d+ but was left by an earlier process/,
  );
  // A store marker of another format stops writes with a clear message.
  fs.writeFileSync(path.join(store.root, 'lmc-store.json'), '{"format": "lmc-lab store 99"}');
  await assert.rejects(
    openStore(store.root).compute('train', { n: 6 }, fn),
    (e: unknown) =>
      e instanceof StoreError &&
      e.code === 'NOT_A_STORE' &&
      /store format "lmc-lab store 99" is not "lmc-lab store 1"/.test(e.message),
  );
});

test('a process whose lock was taken over does not commit, and its writer stops', async () => {
  const { store } = recordingStore(undefined, { staleMs: 400, heartbeatMs: 50 });
  const config = { n: 8 };
  const lockFile = path.join(store.dirOf('train', config), '.lock');
  let aborted = false;
  await assert.rejects(
    store.compute('train', config, async (u) => {
      u.signal.addEventListener('abort', () => (aborted = true));
      // Another process judged us stale and took the unit: its lock replaces ours.
      const owner = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
      fs.writeFileSync(lockFile, JSON.stringify({ ...owner, token: 'someone-else' }));
      await new Promise((r) => setTimeout(r, 250));
      await u.writeFile('late.bin', 'x');
    }),
    (e: unknown) => e instanceof StoreError && /another process took this lock over/.test(e.message),
  );
  assert.ok(aborted, 'the heartbeat noticed and aborted unit.signal');
  assert.equal(await store.get('train', config), null);
  assert.ok(fs.existsSync(lockFile), "the other owner's lock is left alone");
  assert.equal(JSON.parse(fs.readFileSync(lockFile, 'utf8')).token, 'someone-else');
  // Without the heartbeat noticing in time, the commit-time check refuses too.
  const slow = recordingStore(undefined, { staleMs: 60_000, heartbeatMs: 30_000 }).store;
  const slowLock = path.join(slow.dirOf('train', config), '.lock');
  await assert.rejects(
    slow.compute('train', config, async (u) => {
      const owner = JSON.parse(fs.readFileSync(slowLock, 'utf8'));
      fs.writeFileSync(slowLock, JSON.stringify({ ...owner, token: 'someone-else' }));
      await u.writeFile('a.bin', 'a');
    }),
    (e: unknown) =>
      e instanceof StoreError &&
      e.code === 'LOCK_LOST' &&
      /lost the unit's lock to another.*not committing/.test(e.message),
  );
  assert.equal(await slow.get('train', config), null);
});

test('a process waiting on a lock says who holds it and since when, at the start and every waitReportMs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-lock-wait-'));
  const file = path.join(dir, 'lock');
  const held = await HeldLock.tryAcquire(file, 'compute train/test');
  assert.ok(held, 'the lock was free');
  const reports: { owner: string; waitedMs: number }[] = [];
  const timing = { ...DEFAULT_LOCK_TIMING, pollMs: 20, maxPollMs: 40, waitTimeoutMs: 700, waitReportMs: 200 };
  try {
    await assert.rejects(
      waitUntilFree(file, timing, {
        waiting: (owner, waitedMs) => reports.push({ owner: describeOwner(owner), waitedMs }),
        recovered: () => assert.fail('a live lock was taken over'),
      }),
      /still held by process \d+ on .* \(since .*\) after waiting 1 s/,
    );
  } finally {
    await held.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(reports.length >= 3, `reports: ${JSON.stringify(reports)}`);
  assert.equal(reports[0].waitedMs, 0);
  assert.ok(
    reports.slice(1).every((r, i) => r.waitedMs >= 200 * (i + 1) - 50),
    JSON.stringify(reports),
  );
  for (const r of reports)
    assert.match(r.owner, new RegExp(`^process ${process.pid} on .+ \\(since \\d{4}-\\d\\d-\\d\\dT`));
});

test('a store under a regular file or a read-only file system is refused before computing, saying which', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-store-root-'));
  const { fn, calls } = counted();
  try {
    fs.writeFileSync(path.join(base, 'plain'), 'x');
    const underFile = openStore(path.join(base, 'plain', 'home', 'store'));
    await assert.rejects(
      underFile.compute('train', { n: 1 }, fn),
      new RegExp(
        /the store .*plain\/home\/store cannot be made: .*plain is a file, not a folder; /.source +
          /point LMC_HOME \(or --store\) at a folder you can write/.source,
      ),
    );
    // A read-only file system (a tmpfs mounted read-only; needs root).
    const ro = path.join(base, 'ro');
    fs.mkdirSync(ro);
    const mounted =
      process.platform === 'linux' &&
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]).status === 0;
    const missing = mounted ? null : 'cannot mount a read-only tmpfs here (needs root on Linux)';
    if (skipWhenMissing(missing)) t.diagnostic(`read-only case skipped: ${missing}`);
    else {
      requireTools(missing);
      try {
        await assert.rejects(
          openStore(path.join(ro, 'store')).compute('train', { n: 1 }, fn),
          /the store .*ro\/store cannot be written: .*ro is on a read-only file system/,
        );
      } finally {
        spawnSync('umount', [ro]);
      }
    }
    assert.equal(calls(), 0, 'nothing was computed');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
