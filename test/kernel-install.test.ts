/**
 * `lmc kernel install|uninstall` against jupyter_client (the project's Python environment, as a
 * user's Jupyter): the kernelspec lands where the flag says, Jupyter reads it back with our name,
 * display name, language and interrupt mode, and its argv runs this node and this build's launcher.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../lib/cli/main';
import { crc32, launcherPath } from '../lib/cli/kernel';
import { missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const missing = missingPythonModules(['jupyter_client']);

/** Runs the CLI in-process, capturing what it prints. */
async function lmc(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => (out += a.join(' ') + '\n');
  try {
    return { code: await main(args), out };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Checks a PNG's signature, every chunk's CRC, and returns its size from IHDR. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), 'chunk CRC');
    at += length + 12;
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('lmc kernel install / uninstall', () => {
  it(
    'installs a kernelspec and the JupyterLab extension that Jupyter finds, then removes both',
    { skip: skipWhenMissing(missing), timeout: 60_000 },
    async () => {
      requireTools(missing);
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-install-test-'));
      const prefix = path.join(root, 'prefix');
      try {
        const installed = await lmc(['kernel', 'install', '--prefix', prefix]);
        assert.equal(installed.code, 0, installed.out);
        const dir = path.join(prefix, 'share', 'jupyter', 'kernels', 'lmc-lab');
        assert.match(installed.out, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8'));
        assert.deepEqual(spec.argv, [process.execPath, launcherPath(), '{connection_file}']);
        assert.ok(path.isAbsolute(spec.argv[1]) && fs.existsSync(spec.argv[1]), 'the launcher is not where argv says');
        assert.deepEqual(pngSize(fs.readFileSync(path.join(dir, 'logo-64x64.png'))), { width: 64, height: 64 });

        const read = spawnSync(
          TEST_PYTHON,
          [
            '-c',
            'import json; from jupyter_client.kernelspec import KernelSpecManager as K; ' +
              's = K().get_kernel_spec("lmc-lab"); ' +
              'print(json.dumps([s.display_name, s.language, s.interrupt_mode, s.resource_dir]))',
          ],
          { env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') }, encoding: 'utf8' },
        );
        assert.equal(read.status, 0, read.stderr);
        assert.deepEqual(JSON.parse(read.stdout), ['TypeScript (lmc-lab)', 'typescript', 'signal', dir]);

        // The extension beside it, enabled in JupyterLab's own listing.
        const extension = path.join(prefix, 'share', 'jupyter', 'labextensions', '@lmc-lab', 'jupyterlab');
        assert.ok(fs.existsSync(path.join(extension, 'package.json')), `no extension in ${extension}`);
        const list = spawnSync(path.join(path.dirname(TEST_PYTHON), 'jupyter'), ['labextension', 'list'], {
          env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
          encoding: 'utf8',
        });
        assert.equal(list.status, 0, list.stderr);
        assert.match(
          (list.stdout + list.stderr).replace(/\x1b\[[0-9;]*m/g, ''),
          /@lmc-lab\/jupyterlab v0\.1\.0 enabled OK/,
        );

        const removed = await lmc(['kernel', 'uninstall', '--prefix', prefix]);
        assert.equal(removed.code, 0, removed.out);
        assert.equal(fs.existsSync(dir), false);
        assert.equal(
          fs.existsSync(path.dirname(extension)),
          false,
          'the extension (and its empty scope folder) removed',
        );
        const again = await lmc(['kernel', 'uninstall', '--prefix', prefix]);
        assert.equal(again.code, 1);
        assert.match(again.out, /no kernelspec lmc-lab at/);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it(
    'installs with --sys-prefix into the environment of the python3 on PATH, ' +
      "and with --user into the user's data folder",
    { skip: skipWhenMissing(missing), timeout: 120_000 },
    () => {
      requireTools(missing);
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-install-where-'));
      try {
        // A user's own environment with Jupyter: a venv that sees the project's packages through a .pth file.
        const userEnv = path.join(root, 'user-env');
        const made = spawnSync(TEST_PYTHON, ['-m', 'venv', '--without-pip', userEnv], { encoding: 'utf8' });
        assert.equal(made.status, 0, made.stderr);
        const site = spawnSync(TEST_PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], {
          encoding: 'utf8',
        }).stdout.trim();
        const userSite = spawnSync(
          path.join(userEnv, 'bin', 'python'),
          ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
          { encoding: 'utf8' },
        ).stdout.trim();
        fs.writeFileSync(path.join(userSite, 'project.pth'), site + '\n');
        const home = path.join(root, 'home');
        fs.mkdirSync(home);
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          PATH: [path.join(userEnv, 'bin'), process.env.PATH].join(path.delimiter),
          HOME: home,
        };
        delete env.JUPYTER_DATA_DIR;
        delete env.JUPYTER_PATH;
        const cli = (...args: string[]) =>
          spawnSync(process.execPath, [path.resolve(__dirname, '..', '..', 'bin', 'lmc.js'), 'kernel', ...args], {
            env,
            encoding: 'utf8',
          });

        for (const [flag, dir] of [
          ['--sys-prefix', path.join(userEnv, 'share', 'jupyter', 'kernels', 'lmc-lab')],
          ['--user', path.join(home, '.local', 'share', 'jupyter', 'kernels', 'lmc-lab')],
        ]) {
          const installed = cli('install', flag);
          assert.equal(installed.status, 0, installed.stderr);
          assert.ok(installed.stdout.includes(dir), `${flag}: ${installed.stdout}`);
          assert.ok(fs.existsSync(path.join(dir, 'kernel.json')), `${flag}: no kernel.json in ${dir}`);
          const extension = path.join(
            path.dirname(path.dirname(dir)),
            'labextensions',
            '@lmc-lab',
            'jupyterlab',
            'package.json',
          );
          assert.ok(fs.existsSync(extension), `${flag}: no extension at ${extension}`);
          const removed = cli('uninstall', flag);
          assert.equal(removed.status, 0, removed.stderr);
          assert.equal(fs.existsSync(dir), false, `${flag}: ${dir} left behind`);
          assert.equal(fs.existsSync(extension), false, `${flag}: ${extension} left behind`);
        }
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it('refuses two locations at once and unknown actions', async () => {
    const both = await lmc(['kernel', 'install', '--user', '--prefix', '/tmp/x']);
    assert.equal(both.code, 1);
    assert.match(both.out, /--user and --prefix name different places/);
    const unknown = await lmc(['kernel', 'reinstall']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.out, /use install or uninstall/);
  });
});
