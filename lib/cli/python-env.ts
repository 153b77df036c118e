/**
 * The project's own Python environment: `.venv/` in the checkout, made from `requirements.txt`
 * (every package pinned). The tests drive JupyterLab, nbconvert, jupyter_kernel_test, safetensors
 * and PyTorch from it, and `lmc lab` falls back to it when the user has no Jupyter of their own.
 *
 * It is made once and kept while requirements.txt is unchanged: `.venv/requirements.sha256`,
 * written last, records the file it was made from, so an interrupted setup (no stamp) or an
 * edited requirements file (another hash) makes it anew and a finished one is never reused half made.
 * A `.venv` that lmc-lab did not make (no `made-by-lmc-lab`, no stamp) is never removed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settingOrDefault } from '../settings';

/** The checkout's root (dist/lib/cli -> .). */
export const CHECKOUT = path.resolve(__dirname, '..', '..', '..');
/** The pinned requirements the environment is made from. */
export const REQUIREMENTS = path.join(CHECKOUT, 'requirements.txt');
/** The environment's folder (git-ignored). */
export const PYTHON_ENV_DIR = path.join(CHECKOUT, '.venv');
/** The environment's interpreter. */
export const PROJECT_PYTHON = path.join(PYTHON_ENV_DIR, 'bin', 'python');
/** Written last by a finished setup, in the environment's folder: the SHA-256 of the requirements it installed. */
const STAMP = 'requirements.sha256';
/** Written first: this folder is lmc-lab's to remake (a .venv of the user's own is never removed). */
const OWNER = 'made-by-lmc-lab';

function requirementsHash(): string {
  return createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex');
}

/** Whether the environment in `dir` is finished and made from the current requirements.txt. */
export function pythonEnvReady(dir = PYTHON_ENV_DIR): boolean {
  try {
    return (
      fs.readFileSync(path.join(dir, STAMP), 'utf8').trim() === requirementsHash() &&
      fs.existsSync(path.join(dir, 'bin', 'python'))
    );
  } catch {
    return false;
  }
}

/** The Python that makes the environment: $LMC_PYTHON, else python3 on PATH (3.10 or newer). */
function basePython(env: NodeJS.ProcessEnv): string {
  const python = settingOrDefault('python', env);
  const run = spawnSync(python, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
  });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : run.stderr.trim().split('\n').pop();
    throw new Error(
      `cannot make the project's Python environment: ${python} does not run with venv (${why}); ` +
        'install Python 3.10 or newer with venv (apt-get install python3-venv), or set LMC_PYTHON to one',
    );
  }
  const [major, minor] = run.stdout.trim().split('.').map(Number);
  if (major !== 3 || minor < 10) {
    throw new Error(
      `cannot make the project's Python environment: ${python} is Python ${run.stdout.trim()}; ` +
        'JupyterLab 4.6 needs 3.10 or newer: set LMC_PYTHON to such an interpreter',
    );
  }
  return python;
}

function runStep(command: string, args: string[], what: string, env: NodeJS.ProcessEnv): void {
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.error || run.status !== 0) {
    throw new Error(
      `${what} failed (${run.error ? run.error.message : `exit ${run.status}`}): ` +
        `${command} ${args.join(' ')}; the output above says why. Fix it and run again: the environment is made anew`,
    );
  }
}

/**
 * Makes `.venv/` from requirements.txt unless it is already made from the current file; returns
 * its interpreter. `log` hears one line before the (minutes-long) install starts.
 */
export function ensurePythonEnv(
  log: (line: string) => void = console.log,
  env: NodeJS.ProcessEnv = process.env,
  dir = PYTHON_ENV_DIR,
): string {
  const python = path.join(dir, 'bin', 'python');
  if (pythonEnvReady(dir)) return python;
  const ours = [OWNER, STAMP].some((f) => fs.existsSync(path.join(dir, f)));
  if (fs.existsSync(dir) && !ours) {
    throw new Error(
      `${dir} exists and was not made by lmc-lab, so it is left alone; ` +
        'move it elsewhere and run again (lmc-lab makes its own environment there)',
    );
  }
  const base = basePython(env);
  log(
    `lmc: making the project's Python environment ${dir} from ${path.basename(REQUIREMENTS)} ` +
      '(JupyterLab, nbconvert, jupyter_kernel_test, safetensors, PyTorch; a few minutes, once)',
  );
  const hash = requirementsHash();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, OWNER),
    'lmc-lab made this environment from requirements.txt and remakes it when that file changes\n',
  );
  runStep(base, ['-m', 'venv', dir], 'making the virtual environment', env);
  runStep(
    python,
    ['-m', 'pip', 'install', '--quiet', '--require-virtualenv', '--no-input', '-r', REQUIREMENTS],
    `installing ${REQUIREMENTS}`,
    env,
  );
  fs.writeFileSync(path.join(dir, STAMP), hash + '\n');
  return python;
}
