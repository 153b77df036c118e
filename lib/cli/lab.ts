/**
 * `lmc lab` (and `npm run lab`): JupyterLab on the notebooks, with the kernel "TypeScript
 * (lmc-lab)" and its extension installed first. The user's JupyterLab when a `jupyter` on PATH has
 * one (kernel and extension go to the user's data folder), else the project's pinned environment
 * (.venv/, made on first use; kernel and extension go into it). It prints the URL with its token
 * once the server answers, and stops JupyterLab on Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { installKernel, jupyterOnPath } from './kernel';
import { CHECKOUT, ensurePythonEnv } from './python-env';
import { wholeNumberFlag } from './config-flags';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** The options of `lmc lab`: what it parses and what its help lists. */
export const LAB_OPTIONS = {
  port: { type: 'string', value: '<N>', description: 'the port', defaultText: 'a free one' },
  'no-browser': { type: 'boolean', default: false, description: 'do not open a browser' },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help lab`. */
export const LAB_HELP = formatHelp({
  usage: ['lmc lab [<folder>] [options]'],
  about: `Opens JupyterLab on <folder> (default: this checkout's notebooks/) with the kernel
"TypeScript (lmc-lab)" and the lmc-lab JupyterLab extension, installed first. Uses your
JupyterLab when the \`jupyter\` on PATH has one (kernel and extension in your user data folder),
else the project's pinned environment .venv/ (made on first use, a few minutes). Prints the URL
with its token; Ctrl-C stops JupyterLab. \`npm run lab\` builds first, then runs it.`,
  options: LAB_OPTIONS,
});

/** Which JupyterLab to run, and the Python whose jupyter_client installs the kernel into it. */
interface Lab {
  command: string[];
  python: string[];
  where: 'user' | 'sys-prefix';
  description: string;
}

/** The user's JupyterLab (a `jupyter` on PATH whose Python imports jupyterlab), else the project's. */
function findLab(env: NodeJS.ProcessEnv): Lab {
  const jupyter = jupyterOnPath(env);
  if (jupyter !== null) {
    const check = spawnSync(jupyter.python[0], [...jupyter.python.slice(1), '-c', 'import jupyterlab'], {
      encoding: 'utf8',
    });
    if (check.status === 0)
      return {
        command: [jupyter.script, 'lab'],
        python: jupyter.python,
        where: 'user',
        description: `your JupyterLab (${jupyter.script})`,
      };
  }
  const python = ensurePythonEnv((line) => console.error(line), env);
  return {
    command: [python, '-m', 'jupyterlab'],
    python: [python],
    where: 'sys-prefix',
    description: `the project's JupyterLab (${path.dirname(path.dirname(python))})`,
  };
}

/** A port nothing listens on now on 127.0.0.1 (JupyterLab is then told not to retry others). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once JupyterLab answers on `url` with `token`, or rejects when `exited` settles first. */
async function answered(url: string, token: string, exited: Promise<number>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    try {
      const response = await fetch(`${url}/api/status`, {
        headers: { Authorization: `token ${token}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`JupyterLab exited before it served ${url}; its output above says why`);
}

/** Runs `lmc lab`; resolves to JupyterLab's exit code. */
export async function labCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(LAB_OPTIONS),
  });
  if (positionals.length > 1) throw new Error(`give one folder to open, not ${positionals.length}`);
  const folder = path.resolve(positionals[0] ?? path.join(CHECKOUT, 'notebooks'));
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory())
    throw new Error(`${folder}: not a folder; give the folder of notebooks to open`);
  const port = values.port !== undefined ? wholeNumberFlag('--port', values.port, 1, 65535) : await freePort();

  const lab = findLab(process.env);
  const spec = installKernel({ kind: lab.where }, lab.python);
  console.error(
    `lmc lab: kernel "TypeScript (lmc-lab)" and its JupyterLab extension installed (${spec}); ` +
      `starting ${lab.description}`,
  );

  const token = randomBytes(24).toString('hex');
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    lab.command[0],
    [
      ...lab.command.slice(1),
      `--ServerApp.root_dir=${folder}`,
      `--IdentityProvider.token=${token}`,
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      ...(values['no-browser'] ? ['--no-browser'] : []),
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  // Ctrl-C reaches JupyterLab too (same process group); these only keep lmc alive until it has stopped.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  try {
    await answered(url, token, exited);
    console.log(`lmc lab: JupyterLab is at ${url}/lab?token=${token}`);
  } catch (err) {
    console.error(`lmc lab: ${(err as Error).message}`);
  }
  return exited;
}
