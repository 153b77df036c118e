/**
 * `lmc kernel install|uninstall`: the Jupyter kernelspec "lmc-lab" (display name
 * "TypeScript (lmc-lab)"), whose argv runs this build's kernel launcher with this node. The
 * kernelspec is handed to jupyter_client in whichever Python has it, as `jupyter kernelspec`
 * would: the `jupyter` on PATH (through its shebang's Python), else python3, else /usr/bin/python3,
 * else the project's own environment (.venv/, see python-env.ts).
 *
 * The JupyterLab extension (labextension/, built by `npm run build` into dist/labextensions/)
 * is installed beside the kernelspec, in the same Jupyter data folder: a prebuilt extension is a
 * folder named as its npm package under `labextensions/`, which JupyterLab loads from any data path.
 *
 * The launcher is referred to by path only: nothing under lib/ imports kernel/.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import { PROJECT_PYTHON } from './python-env';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';
import { KERNEL_NAME } from '../io/wire';

/** The kernelspec's name (the folder under share/jupyter/kernels). */
export { KERNEL_NAME };

/** The JupyterLab extension's npm package name: its folder under share/jupyter/labextensions. */
export const LABEXTENSION_NAME = '@lmc-lab/jupyterlab';

/** The built extension (dist/labextensions/@lmc-lab/jupyterlab). */
export function labextensionBuild(): string {
  return path.resolve(__dirname, '..', '..', 'labextensions', ...LABEXTENSION_NAME.split('/'));
}

/** Where the extension goes for a kernelspec installed in `specDir` (<data>/kernels/lmc-lab). */
function labextensionTarget(specDir: string): string {
  return path.join(path.dirname(path.dirname(specDir)), 'labextensions', ...LABEXTENSION_NAME.split('/'));
}

/** The options of `lmc kernel`: what it parses and what its help lists. */
export const KERNEL_OPTIONS = {
  user: { type: 'boolean', description: 'the per-user kernels folder (the default unless run as root)' },
  'sys-prefix': {
    type: 'boolean',
    description: 'the kernels folder of the Python environment that has jupyter_client',
  },
  prefix: { type: 'string', value: '<dir>', description: '<dir>/share/jupyter/kernels' },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help kernel`. */
export const KERNEL_HELP = formatHelp({
  usage: [
    'lmc kernel install [--user | --sys-prefix | --prefix <dir>]',
    'lmc kernel uninstall [--user | --sys-prefix | --prefix <dir>]',
  ],
  about: `Installs (or removes) the Jupyter kernel "TypeScript (lmc-lab)": TypeScript cells with lmc, tf
(TensorFlow.js), aq (arquero), tslab, display(value) and clearOutput() in scope, and beside it the
lmc-lab JupyterLab extension (its renderers and the Runs panel).`,
  options: KERNEL_OPTIONS,
  after: `Then start JupyterLab (\`jupyter lab\`) or Notebook (\`jupyter notebook\`) and pick the kernel.
The kernelspec runs this checkout's build: run \`npm run build\` before installing.`,
});

/** The kernel.json contents. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  metadata: Record<string, unknown>;
}

/** Where to install: one of jupyter's locations. */
export type Location =
  { kind: 'default' } | { kind: 'user' } | { kind: 'sys-prefix' } | { kind: 'prefix'; dir: string };

/** The compiled launcher of this build (dist/lib/cli -> dist/kernel/launcher.js). */
export function launcherPath(): string {
  return path.resolve(__dirname, '..', '..', 'kernel', 'launcher.js');
}

/** The kernelspec for `launcher` run by `node` (absolute paths: Jupyter starts kernels from the notebook's folder). */
export function kernelSpec(launcher = launcherPath(), node = process.execPath): KernelSpec {
  return {
    argv: [node, launcher, '{connection_file}'],
    display_name: 'TypeScript (lmc-lab)',
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { debugger: false },
  };
}

/**
 * The Python interpreter named by a script's shebang (also pip's `'''exec' python` form for long
 * paths); null when the script is not run by a Python (a pyenv shim is a shell script).
 */
export function shebangPython(script: string): string[] | null {
  const head = script.split('\n', 3);
  const exec = /^'''exec' "?([^"\s]+)"?/.exec(head[1] ?? '');
  let command: string[] | null = null;
  if (head[0].startsWith('#!/bin/sh') && exec) command = [exec[1]];
  else if (head[0].startsWith('#!')) {
    const words = head[0].slice(2).trim().split(/\s+/);
    command = path.basename(words[0]) === 'env' ? words.slice(1).filter((w) => !w.startsWith('-')) : words;
  }
  return command && command.length > 0 && /^python/.test(path.basename(command[0])) ? command : null;
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** The `jupyter` on PATH and the Python that runs it (from its shebang), or null when there is none. */
export function jupyterOnPath(env: NodeJS.ProcessEnv = process.env): { script: string; python: string[] } | null {
  const script = onPath('jupyter', env);
  const python = script ? shebangPython(fs.readFileSync(script, 'utf8').slice(0, 1000)) : null;
  return script && python ? { script, python } : null;
}

/** The first Python (as a command line) that can import jupyter_client; throws saying what was tried. */
export function findJupyterPython(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: { command: string[]; from: string }[] = [];
  const jupyter = jupyterOnPath(env);
  if (jupyter) candidates.push({ command: jupyter.python, from: `the Python of ${jupyter.script}` });
  candidates.push(
    { command: ['python3'], from: 'python3 on PATH' },
    { command: ['/usr/bin/python3'], from: '/usr/bin/python3' },
  );
  // The project's own environment (made by `npm test` or `lmc lab`) comes after any Jupyter of the user's.
  if (fs.existsSync(PROJECT_PYTHON))
    candidates.push({ command: [PROJECT_PYTHON], from: "the project's Python environment" });
  const tried: string[] = [];
  for (const c of candidates) {
    const run = spawnSync(c.command[0], [...c.command.slice(1), '-c', 'import jupyter_client'], {
      env,
      encoding: 'utf8',
    });
    if (run.status === 0) return c.command;
    tried.push(`${c.from} (${c.command.join(' ')}): ${run.error ? run.error.message : 'no jupyter_client'}`);
  }
  throw new Error(
    `no Python with jupyter_client found; tried ${tried.join('; ')}. ` +
      'Install Jupyter (pip install jupyterlab, conda install jupyterlab, or apt-get install jupyter-client), ' +
      "or make the project's own with `npm test` or `lmc lab`, and run this again.",
  );
}

/** Python that installs or removes the kernelspec: argv = action, location kind, prefix, source folder. */
const KERNELSPEC_PY = `
import os, shutil, sys
from jupyter_client.kernelspec import KernelSpecManager
action, kind, prefix, source = sys.argv[1:5]
name = ${JSON.stringify(KERNEL_NAME)}
ksm = KernelSpecManager()
where = (
    {"user": True} if kind == "user"
    else {"prefix": sys.prefix} if kind == "sys-prefix"
    else {"prefix": prefix} if kind == "prefix"
    else {}
)
if action == "install":
    print(ksm.install_kernel_spec(source, kernel_name=name, **where))
elif kind == "default":
    path = ksm.get_kernel_spec(name).resource_dir
    ksm.remove_kernel_spec(name)
    print(path)
else:
    path = ksm._get_destination_dir(name, user=where.get("user", False), prefix=where.get("prefix"))
    if not os.path.isdir(path):
        sys.exit("no kernelspec %s at %s" % (name, path))
    shutil.rmtree(path)
    print(path)
`;

function runKernelspecPython(
  python: string[],
  action: 'install' | 'uninstall',
  location: Location,
  source: string,
): string {
  const prefix = location.kind === 'prefix' ? path.resolve(location.dir) : '';
  const run = spawnSync(python[0], [...python.slice(1), '-c', KERNELSPEC_PY, action, location.kind, prefix, source], {
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    const detail = (run.stderr || run.error?.message || '').trim().split('\n').slice(-3).join(' ');
    throw new Error(`${python.join(' ')} could not ${action} the kernelspec: ${detail}`);
  }
  return run.stdout.trim();
}

/** Installs the kernelspec and the JupyterLab extension beside it; returns the kernelspec's folder. */
export function installKernel(location: Location, python = findJupyterPython()): string {
  const launcher = launcherPath();
  const extension = labextensionBuild();
  for (const [what, file] of [
    ['kernel', launcher],
    ['JupyterLab extension', path.join(extension, 'package.json')],
  ]) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `the ${what} is not built (${file} is missing): run \`npm run build\` in ` +
          `${path.resolve(__dirname, '..', '..', '..')} first`,
      );
    }
  }
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-kernelspec-'));
  try {
    fs.writeFileSync(path.join(source, 'kernel.json'), JSON.stringify(kernelSpec(launcher), null, 2) + '\n');
    fs.writeFileSync(path.join(source, 'logo-64x64.png'), logoPng(64));
    fs.writeFileSync(path.join(source, 'logo-32x32.png'), logoPng(32));
    const specDir = runKernelspecPython(python, 'install', location, source);
    const target = labextensionTarget(specDir);
    // Replaced whole: a previous build's chunks must not stay beside this one's.
    fs.rmSync(target, { recursive: true, force: true });
    fs.cpSync(extension, target, { recursive: true });
    return specDir;
  } finally {
    fs.rmSync(source, { recursive: true, force: true });
  }
}

/**
 * Removes the kernelspec (from `location`, or wherever Jupyter finds
 * it) and the extension beside it; returns the kernelspec's folder.
 */
export function uninstallKernel(location: Location, python = findJupyterPython()): string {
  const specDir = runKernelspecPython(python, 'uninstall', location, '');
  const target = labextensionTarget(specDir);
  fs.rmSync(target, { recursive: true, force: true });
  // The scope folder (@lmc-lab) goes too when nothing else is in it.
  const scope = path.dirname(target);
  if (fs.existsSync(scope) && fs.readdirSync(scope).length === 0) fs.rmdirSync(scope);
  return specDir;
}

/** Runs `lmc kernel ...`; resolves to the exit code. */
export async function kernelCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(KERNEL_OPTIONS),
  });
  const [action, ...extra] = positionals;
  if (action === undefined || action === 'help') {
    console.log(KERNEL_HELP);
    return 0;
  }
  if ((action !== 'install' && action !== 'uninstall') || extra.length > 0) {
    throw new Error(`unknown arguments "${positionals.join(' ')}": use install or uninstall\n\n${KERNEL_HELP}`);
  }
  const chosen = [
    values.user && '--user',
    values['sys-prefix'] && '--sys-prefix',
    values.prefix !== undefined && '--prefix',
  ].filter(Boolean);
  if (chosen.length > 1) throw new Error(`${chosen.join(' and ')} name different places: give at most one`);
  const location: Location = values.user
    ? { kind: 'user' }
    : values['sys-prefix']
      ? { kind: 'sys-prefix' }
      : values.prefix !== undefined
        ? { kind: 'prefix', dir: values.prefix }
        : // Like `tslab install`: per-user unless root, who installs for everyone.
          action === 'install' && process.getuid?.() !== 0
          ? { kind: 'user' }
          : { kind: 'default' };
  if (action === 'install') {
    const dir = installKernel(location);
    console.log(
      `installed the kernel "TypeScript (lmc-lab)" in ${dir}\nand the JupyterLab extension ${LABEXTENSION_NAME} ` +
        `in ${labextensionTarget(dir)}\n` +
        'start JupyterLab (jupyter lab) or Notebook (jupyter notebook) and pick the kernel',
    );
  } else {
    const dir = uninstallKernel(location);
    console.log(
      `removed the kernel "TypeScript (lmc-lab)" from ${dir}\nand the JupyterLab extension from ` +
        `${labextensionTarget(dir)}`,
    );
  }
  return 0;
}

/** A PNG of the logo: the error barrier along a linear path between two networks, on a dark tile. */
export function logoPng(size: number): Buffer {
  const rgba = Buffer.alloc(size * size * 4);
  const s = size / 64;
  // The curve: error along the path from one endpoint (alpha 0) to the other (alpha 1), a barrier in between.
  const curve: [number, number][] = [];
  for (let i = 0; i <= 40; i++) {
    const a = i / 40;
    curve.push([(12 + 40 * a) * s, (46 - 30 * 4 * a * (1 - a)) * s]);
  }
  const ends: [number, number][] = [curve[0], curve[curve.length - 1]];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const tile = coverage(roundedBoxDistance(px, py, size, 12 * s));
      const line = coverage(polylineDistance(px, py, curve) - 2.5 * s);
      const dot = coverage(Math.min(...ends.map(([cx, cy]) => Math.hypot(px - cx, py - cy))) - 4.5 * s);
      // Tile #1f3b73, curve #f28e2b, dots white.
      let c = [0x1f, 0x3b, 0x73];
      c = mix(c, [0xf2, 0x8e, 0x2b], line);
      c = mix(c, [0xff, 0xff, 0xff], dot);
      const o = (y * size + x) * 4;
      rgba[o] = c[0];
      rgba[o + 1] = c[1];
      rgba[o + 2] = c[2];
      rgba[o + 3] = Math.round(255 * tile);
    }
  }
  return encodePng(size, size, rgba);
}

function coverage(distance: number): number {
  return Math.min(1, Math.max(0, 0.5 - distance));
}

function mix(a: number[], b: number[], t: number): number[] {
  return a.map((v, i) => Math.round(v + (b[i] - v) * t));
}

function roundedBoxDistance(x: number, y: number, size: number, radius: number): number {
  const half = size / 2;
  const qx = Math.abs(x - half) - (half - radius);
  const qy = Math.abs(y - half) - (half - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

function polylineDistance(x: number, y: number, points: [number, number][]): number {
  let best = Infinity;
  for (let i = 1; i < points.length; i++) {
    const [ax, ay] = points[i - 1];
    const [bx, by] = points[i];
    const t = Math.max(
      0,
      Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
    );
    best = Math.min(best, Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay)));
  }
  return best;
}

/** An 8-bit RGBA PNG (no dependency: zlib for the data, our own CRC-32 for the chunks). */
export function encodePng(width: number, height: number, rgba: Buffer): Buffer {
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (ISO 3309), as PNG chunks need. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
