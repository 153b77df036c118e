/**
 * What `npm test` sets up before the tests run (its pretest step), each part skipped when done:
 *   1. Debian packages (Chromium, libdnnl-dev and a compiler, Fashion-MNIST, Slurm and MUNGE) where one is missing
 *      and this is root with apt-get: test/setup/system-packages.sh;
 *   2. the oneDNN addon (native/dnnl) built where it does not load and oneDNN's headers are present;
 *   3. the project's Python environment (.venv/ from requirements.txt).
 * Outside CI a part that cannot be done is reported and its tests skip, naming what is missing;
 * with CI set it fails the run, since there no test may skip for a missing tool.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHECKOUT, ensurePythonEnv } from '../../lib/cli/python-env';
import { IN_CI } from '../fixtures/tools';

const ADDON_DIR = path.join(CHECKOUT, 'native', 'dnnl');

function systemPackages(): string | null {
  if (spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return (
      'not a Debian system: install Chromium, oneDNN (libdnnl) and Fashion-MNIST by hand ' +
      '(test/setup/system-packages.sh lists them)'
    );
  }
  const run = spawnSync('bash', [path.join(CHECKOUT, 'test', 'setup', 'system-packages.sh')], { stdio: 'inherit' });
  return run.status === 0 ? null : 'Debian packages missing (see above)';
}

function addonLoads(): string | null {
  const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ADDON_DIR)})`], { encoding: 'utf8' });
  return run.status === 0
    ? null
    : (run.stderr
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? 'does not load');
}

function nativeAddon(): string | null {
  if (addonLoads() === null) return null;
  if (!fs.existsSync('/usr/include/dnnl.h'))
    return 'oneDNN headers absent (/usr/include/dnnl.h: apt-get install libdnnl-dev)';
  console.log('prepare: building the oneDNN addon (native/dnnl)');
  // npm puts its own node-gyp on PATH for scripts; npm_config_node_gyp names it otherwise.
  const gyp = process.env.npm_config_node_gyp;
  const [command, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
  const build = spawnSync(command, args, { cwd: ADDON_DIR, stdio: 'inherit' });
  if (build.status !== 0)
    return `node-gyp rebuild in ${ADDON_DIR} failed (exit ${build.status ?? build.error?.message})`;
  const after = addonLoads();
  return after === null ? null : `built but does not load: ${after}`;
}

function pythonEnv(): string | null {
  try {
    ensurePythonEnv((line) => console.log(line));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function main(): number {
  const started = Date.now();
  const problems: string[] = [];
  for (const [name, step] of [
    ['system packages', systemPackages],
    ['oneDNN addon', nativeAddon],
    ['Python environment', pythonEnv],
  ] as const) {
    const problem = step();
    if (problem) problems.push(`${name}: ${problem}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length === 0) {
    console.log(`prepare: test environment ready (${seconds} s)`);
    return 0;
  }
  for (const p of problems) console.error(`prepare: ${p}`);
  if (IN_CI) {
    console.error('prepare: CI is set, where every test must run: fix the above');
    return 1;
  }
  console.error('prepare: the tests that need these will be skipped, each naming what it lacks');
  return 0;
}

process.exitCode = main();
