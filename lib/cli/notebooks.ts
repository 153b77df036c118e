/**
 * `lmc notebooks` (`npm run notebooks`): executes the shipped notebooks headless with the lmc-lab
 * kernel through Jupyter's own nbconvert, writing each as an executed .ipynb and as offline HTML
 * (plotly.js travels inside the page) into out/notebooks/. The kernelspec is installed into a
 * temporary prefix for the run, so nothing in the user's Jupyter setup changes. Runs share the
 * store ($LMC_HOME/store), so a second execution only re-plots.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Scale } from '../train/config';
import { findJupyterPython, installKernel } from './kernel';
import { scaleFrom, scaleOption } from './config-flags';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** The options of `lmc notebooks`: what it parses and what its help lists. */
export const NOTEBOOKS_OPTIONS = {
  scale: scaleOption('quick'),
  only: {
    type: 'string',
    value: '<prefixes>',
    description: 'only the notebooks whose names start with one of these comma-separated prefixes, e.g. 01,03',
  },
  out: {
    type: 'string',
    value: '<folder>',
    description: 'where the executed notebooks go',
    defaultText: 'out/notebooks',
  },
  timeout: { type: 'string', value: '<s>', description: 'seconds one cell may take', defaultText: 'no limit' },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help notebooks`. */
export const NOTEBOOKS_HELP = formatHelp({
  usage: ['lmc notebooks [options]'],
  about: `Executes notebooks/*.ipynb with the lmc-lab kernel (nbconvert) into <out>/<name>.ipynb and
<out>/<name>.html (offline). Needs a Python with nbconvert (apt-get install jupyter-nbconvert, or
pip install nbconvert). \`npm run notebooks\` builds first, then runs it.`,
  options: NOTEBOOKS_OPTIONS,
});

/** The repository's notebooks folder (next to dist/). */
export function notebooksDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'notebooks');
}

/** The shipped notebooks, sorted; `only` keeps those whose names start with one of its prefixes. */
export function listNotebooks(dir = notebooksDir(), only: readonly string[] = []): string[] {
  if (!fs.existsSync(dir)) throw new Error(`notebooks: folder ${dir} not found; run this from a checkout of lmc-lab`);
  const all = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  if (only.length === 0) return all;
  const picked = all.filter((f) => only.some((p) => f.startsWith(p)));
  if (picked.length === 0)
    throw new Error(`--only ${only.join(',')}: no notebook name starts with that; notebooks are ${all.join(', ')}`);
  return picked;
}

/** A Python that can run nbconvert (the Jupyter Python, else Debian's). */
function nbconvertPython(): string[] {
  const candidates = [
    (() => {
      try {
        return findJupyterPython();
      } catch {
        return null;
      }
    })(),
    ['python3'],
    ['/usr/bin/python3'],
  ].filter((c): c is string[] => c !== null);
  for (const c of candidates) {
    if (spawnSync(c[0], [...c.slice(1), '-c', 'import nbconvert, jupyter_client'], { encoding: 'utf8' }).status === 0)
      return c;
  }
  throw new Error(
    `no Python with nbconvert and jupyter_client found (tried ${candidates.map((c) => c.join(' ')).join(', ')}); ` +
      `apt-get install jupyter-nbconvert jupyter-client, or pip install nbconvert`,
  );
}

function run(command: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Runs `lmc notebooks ...`; resolves to the exit code (1 when any notebook failed). */
export async function notebooksCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: parserOptions(NOTEBOOKS_OPTIONS),
  });
  const scale: Scale = scaleFrom(values.scale, 'quick');
  const timeout = values.timeout === undefined ? -1 : Number(values.timeout);
  if (!(timeout === -1 || (Number.isFinite(timeout) && timeout > 0)))
    throw new Error(`--timeout ${values.timeout}: give seconds > 0`);
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
  const files = listNotebooks(notebooksDir(), only);
  const out = path.resolve(values.out ?? path.join('out', 'notebooks'));
  fs.mkdirSync(out, { recursive: true });
  const python = nbconvertPython();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-notebooks-'));
  try {
    installKernel({ kind: 'prefix', dir: prefix }, python);
    const env = {
      ...process.env,
      LMC_SCALE: scale,
      JUPYTER_PATH: [path.join(prefix, 'share', 'jupyter'), process.env.JUPYTER_PATH]
        .filter(Boolean)
        .join(path.delimiter),
    };
    console.log(`executing ${files.length} notebook(s) at ${scale} scale into ${out}`);
    const failed: string[] = [];
    for (const [i, file] of files.entries()) {
      const name = file.replace(/\.ipynb$/, '');
      const started = Date.now();
      const executed = await run(
        [
          ...python,
          '-m',
          'nbconvert',
          '--to',
          'notebook',
          '--execute',
          `--ExecutePreprocessor.timeout=${timeout}`,
          '--output-dir',
          out,
          '--output',
          name,
          path.join(notebooksDir(), file),
        ],
        env,
        out,
      );
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (executed.code !== 0) {
        failed.push(file);
        console.log(
          `[${i + 1}/${files.length}] ${file}: FAILED after ${seconds} s\n` +
            `${executed.output.trim().split('\n').slice(-25).join('\n')}`,
        );
        continue;
      }
      const html = await run(
        [
          ...python,
          '-m',
          'nbconvert',
          '--to',
          'html',
          '--output-dir',
          out,
          '--output',
          name,
          path.join(out, `${name}.ipynb`),
        ],
        env,
        out,
      );
      if (html.code !== 0) {
        failed.push(file);
        console.log(
          `[${i + 1}/${files.length}] ${file}: executed in ${seconds} s, but HTML export failed\n${html.output.trim()}`,
        );
        continue;
      }
      console.log(`[${i + 1}/${files.length}] ${file}: executed in ${seconds} s -> ${path.join(out, `${name}.html`)}`);
    }
    if (failed.length > 0) {
      console.log(`${failed.length} notebook(s) failed: ${failed.join(', ')}`);
      return 1;
    }
    return 0;
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}
