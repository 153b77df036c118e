// `lmc quickstart` at smoke scale end to end in a real process (report with three figures and
// plotly.js once, exported tables, a second run that trains nothing), and `lmc ls`, `show`, `gc`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', 'lib', 'cli', 'main.js');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-qs-'));
const out = path.join(home, 'out');
after(() => fs.rmSync(home, { recursive: true, force: true }));

/** Runs `lmc <args>` in a fresh process with LMC_HOME in a temp folder. */
function lmc(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const script = `require(${JSON.stringify(MAIN)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
  const r = spawnSync(process.execPath, ['-e', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LMC_HOME: home, LMC_BACKEND: 'wasm' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

test('lmc quickstart --scale smoke writes one offline report: three figures, plotly.js once, and the tables', () => {
  const r = lmc('quickstart', '--scale', 'smoke', '--k', '0,10', '--levels', '2', '--out', out, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /instability at k = 0: test [\d.]+ pp, train [\d.]+ pp/);
  assert.match(r.stdout, /instability at k = 10: /);
  assert.match(
    r.stdout,
    /IMP at [\d.]+% density: [\d.]+% test accuracy; random pruning [\d.]+%, random reinit [\d.]+%; dense [\d.]+%/,
  );
  assert.match(r.stdout, /(\d+) units computed \(12 trainings\), 0 from the store/);
  const reportLine = /report: (.*report\.html)/.exec(r.stdout);
  assert.equal(reportLine?.[1], path.join(out, 'report.html'));
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  assert.equal(count(html, '<script type="text/javascript">window.PlotlyConfig'), 1, 'plotly.js embedded once');
  assert.equal(count(html, '* plotly.js v'), 1, 'its banner once');
  assert.equal(count(html, '<div class="lmc-plotly-figure"'), 3, 'three figures');
  assert.ok(!/<script[^>]+src=/.test(html), 'no script from the network');
  for (const title of [
    'Error along the linear path',
    'Instability against k',
    'IMP with rewinding: accuracy against density',
  ])
    assert.ok(html.includes(title), title);
  // Every caption names the data and the scale.
  assert.ok(count(html, 'MNIST subset (10k digits), smoke scale') >= 4);
  for (const name of ['instability-curves', 'instability-pairs', 'imp']) {
    for (const ext of ['csv', 'json', 'arrow'])
      assert.ok(fs.statSync(path.join(out, `${name}.${ext}`)).size > 0, `${name}.${ext}`);
  }
  const imp = JSON.parse(fs.readFileSync(path.join(out, 'imp.json'), 'utf8')) as { method: string }[];
  assert.deepEqual([...new Set(imp.map((r) => r.method))], ['imp', 'random-prune', 'random-reinit']);
  assert.equal(fs.readFileSync(path.join(out, 'imp.arrow')).subarray(0, 6).toString(), 'ARROW1');
});

test('a second lmc quickstart trains nothing and reports the same numbers', () => {
  const first = fs.readFileSync(path.join(out, 'instability-pairs.csv'), 'utf8');
  const started = Date.now();
  const r = lmc(
    'quickstart',
    '--scale',
    'smoke',
    '--k',
    '0,10',
    '--levels',
    '2',
    '--out',
    out,
    '--json',
    '--export',
    'csv',
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    units: { computed: number; trainings: number; fromStore: number };
    instability: { k: number }[];
    imp: unknown[];
    report: string;
  };
  assert.deepEqual([report.units.computed, report.units.trainings], [0, 0]);
  // The two pairs, three levels and four baselines; their trunks and copies are not even looked at.
  assert.equal(report.units.fromStore, 9);
  assert.deepEqual(
    report.instability.map((s) => s.k),
    [0, 10],
  );
  assert.equal(report.imp.length, 3);
  assert.equal(fs.readFileSync(path.join(out, 'instability-pairs.csv'), 'utf8'), first);
  assert.ok(Date.now() - started < 30_000);
});

test('lmc ls lists the units, lmc show prints one, lmc gc removes only leftovers', () => {
  const ls = lmc('ls');
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /^store .*store\nHASH +KIND +STATE +SIZE +MODIFIED +CONFIG\n/);
  assert.match(ls.stdout, /imp-level +finished +[\d.]+ MiB +\S+ \S+ +model=lenet_300_100 T=40it k=0 level=2/);
  assert.match(ls.stdout, /trunk +finished .* k=10 init=\d+… order=\d+…/);
  assert.match(ls.stdout, /\d+ units \(\d+ finished\), [\d.]+ MiB\n$/);
  const json = JSON.parse(lmc('ls', '--json', '--kind', 'imp-level').stdout) as {
    units: { hash: string; label: string; summary: { level: number } }[];
  };
  assert.deepEqual(json.units.map((u) => u.summary.level).sort(), [0, 1, 2]);
  const level2 = json.units.find((u) => u.summary.level === 2)!;
  const bogus = lmc('ls', '--kind', 'bogus');
  assert.equal(bogus.code, 1, 'an unknown kind is an error, not an empty store');
  assert.match(
    bogus.stderr,
    /--kind "bogus": no such kind of unit; use one of trunk, copy, imp-level, instability-pair, throughout, mask/,
  );

  const show = lmc('show', level2.hash.slice(0, 10));
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^what +imp-level k=0 level=2\nunit +imp-level\/[0-9a-f]{64}\n/);
  for (const file of ['mask.safetensors', 'final.safetensors', 'sparsity.csv', 'config.json'])
    assert.match(show.stdout, new RegExp(`  ${file.replace('.', '\\.')} +[\\d.]+ \\w+ +sha256 [0-9a-f]{16}`));
  assert.match(show.stdout, /"testAccuracy": 0\.\d+/);
  const missing = lmc('show', 'ffffffffff');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no unit has a hash starting with "ffffffffff"; `lmc ls` lists the units/);

  // An unfinished unit (an interrupted attempt's folder) is what gc removes.
  const finished = (JSON.parse(lmc('ls', '--json').stdout) as { units: { state: string }[] }).units;
  assert.ok(finished.length === 16 && finished.every((u) => u.state === 'finished'));
  const store = path.join(home, 'store');
  const leftover = path.join(store, 'copy', 'ab'.repeat(32));
  fs.mkdirSync(path.join(leftover, 'partial'), { recursive: true });
  fs.writeFileSync(path.join(leftover, 'config.json'), '{"config":{},"kind":"copy"}\n');
  const dry = lmc('gc', '--dry-run');
  assert.match(dry.stdout, /would remove .*abababab.*\(unfinished unit/);
  assert.ok(fs.existsSync(leftover));
  const gc = lmc('gc');
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /removed .*abababab.*config\.json \(unfinished unit, \d+ B\)/);
  assert.ok(!fs.existsSync(leftover));
  assert.equal(
    (JSON.parse(lmc('ls', '--json').stdout) as { units: unknown[] }).units.length,
    16,
    'every finished unit kept',
  );
  const bad = lmc('ls', '--colour');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /lmc ls: Unknown option '--colour'/);
});

test('lmc quickstart --out under a regular file is refused before any training, saying what is in the way', () => {
  const file = path.join(home, 'a-file');
  fs.writeFileSync(file, 'x');
  const started = Date.now();
  for (const [where, why] of [
    [path.join(file, 'report'), /a part of that path is a file, not a folder/],
    [file, /it is a file, not a folder/],
  ] as const) {
    const r = lmc('quickstart', '--scale', 'smoke', '--out', where);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      new RegExp(`--out ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the report cannot be written there`),
    );
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stdout, /training|computed/, 'nothing was trained');
  }
  assert.ok(Date.now() - started < 30_000, 'refused at once');
});
