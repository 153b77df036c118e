/**
 * The project's own Python environment: `.venv/` in the checkout, made from `requirements.txt`
 * (every package pinned). The tests drive JupyterLab, nbconvert, jupyter_kernel_test, safetensors
 * and PyTorch from it, and `lmc lab` falls back to it when the user has no Jupyter of their own.
 *
 * It is made once and kept while requirements.txt is unchanged: `.venv/requirements.sha256`,
 * written last, records the file it was made from, so an interrupted setup (no stamp) or an
 * edited requirements file (another hash) makes it anew and a finished one is never reused half made.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The checkout's root (dist/lib/cli -> .). */
export const CHECKOUT = path.resolve(__dirname, '..', '..', '..');
/** The pinned requirements the environment is made from. */
export const REQUIREMENTS = path.join(CHECKOUT, 'requirements.txt');
/** The environment's folder (git-ignored). */
export const PYTHON_ENV_DIR = path.join(CHECKOUT, '.venv');
/** The environment's interpreter. */
export const PROJECT_PYTHON = path.join(PYTHON_ENV_DIR, 'bin', 'python');
/** Written last by a finished setup: the SHA-256 of the requirements file it installed. */
const STAMP = path.join(PYTHON_ENV_DIR, 'requirements.sha256');

function requirementsHash(): string {
  return createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex');
}

/** Whether `.venv/` is finished and made from the current requirements.txt. */
export function pythonEnvReady(): boolean {
  try {
    return fs.readFileSync(STAMP, 'utf8').trim() === requirementsHash() && fs.existsSync(PROJECT_PYTHON);
  } catch {
    return false;
  }
}

/** The Python that makes the environment: $LMC_PYTHON, else python3 on PATH (3.10 or newer). */
function basePython(env: NodeJS.ProcessEnv): string {
  const python = env.LMC_PYTHON?.trim() || 'python3';
  const run = spawnSync(python, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    const why = run.error ? run.error.message : run.stderr.trim().split('\n').pop();
    throw new Error(`cannot make the project's Python environment: ${python} does not run with venv (${why}); ` +
      'install Python 3.10 or newer with venv (apt-get install python3-venv), or set LMC_PYTHON to one');
  }
  const [major, minor] = run.stdout.trim().split('.').map(Number);
  if (major !== 3 || minor < 10) {
    throw new Error(`cannot make the project's Python environment: ${python} is Python ${run.stdout.trim()}; ` +
      'JupyterLab 4.6 needs 3.10 or newer: set LMC_PYTHON to such an interpreter');
  }
  return python;
}

function runStep(command: string, args: string[], what: string, env: NodeJS.ProcessEnv): void {
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.error || run.status !== 0) {
    throw new Error(`${what} failed (${run.error ? run.error.message : `exit ${run.status}`}): ` +
      `${command} ${args.join(' ')}; the output above says why. Fix it and run again: the environment is made anew`);
  }
}

/**
 * Makes `.venv/` from requirements.txt unless it is already made from the current file; returns
 * its interpreter. `log` hears one line before the (minutes-long) install starts.
 */
export function ensurePythonEnv(log: (line: string) => void = console.log, env: NodeJS.ProcessEnv = process.env): string {
  if (pythonEnvReady()) return PROJECT_PYTHON;
  const python = basePython(env);
  log(`lmc: making the project's Python environment ${PYTHON_ENV_DIR} from ${path.basename(REQUIREMENTS)} ` +
    '(JupyterLab, nbconvert, jupyter_kernel_test, safetensors, PyTorch; a few minutes, once)');
  const hash = requirementsHash();
  fs.rmSync(PYTHON_ENV_DIR, { recursive: true, force: true });
  runStep(python, ['-m', 'venv', PYTHON_ENV_DIR], 'making the virtual environment', env);
  runStep(PROJECT_PYTHON, ['-m', 'pip', 'install', '--quiet', '--require-virtualenv', '--no-input', '-r', REQUIREMENTS],
    `installing ${REQUIREMENTS}`, env);
  fs.writeFileSync(STAMP, hash + '\n');
  return PROJECT_PYTHON;
}
