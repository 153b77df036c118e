/**
 * `lmc lab` as a user starts it on a machine without a JupyterLab of their own: it installs the
 * kernel and the extension into the project's environment, starts JupyterLab on the folder,
 * prints the URL with its token, serves the kernel and the extension there, and stops on Ctrl-C.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { missingLabServer } from './fixtures/browser/lab-server';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
const missing = missingLabServer();

describe('lmc lab', () => {
  it(
    "opens the project's JupyterLab on a folder with the kernel and the extension, " +
      'prints the URL with its token, and stops on Ctrl-C',
    { skip: skipWhenMissing(missing), timeout: 120_000 },
    async () => {
      requireTools(missing);
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-lab-test-'));
      const folder = path.join(root, 'notebooks');
      fs.mkdirSync(folder);
      fs.writeFileSync(
        path.join(folder, 'mine.ipynb'),
        JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }),
      );
      // No jupyter on PATH (only the system's folders), a home and Jupyter folders of its own.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: '/usr/bin:/bin',
        HOME: path.join(root, 'home'),
        JUPYTER_CONFIG_DIR: path.join(root, 'config'),
        JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
        JUPYTER_DATA_DIR: path.join(root, 'data'),
      };
      delete env.JUPYTER_PATH;
      const child = spawn(process.execPath, [LMC, 'lab', '--no-browser', folder], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 90_000;
        let match: RegExpExecArray | null = null;
        while (
          !(match = /JupyterLab is at (http:\/\/127\.0\.0\.1:\d+)\/lab\?token=([0-9a-f]{48})/.exec(stdout)) &&
          Date.now() < deadline &&
          child.exitCode === null
        ) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        assert.ok(match, `no URL printed\nstdout: ${stdout}\nstderr: ${stderr}`);
        const [, url, token] = match;
        assert.match(
          stderr,
          new RegExp(
            /kernel "TypeScript \(lmc-lab\)" and its JupyterLab extension /.source +
              /installed .*\.venv.*; starting the project's JupyterLab/.source,
          ),
        );
        const get = async (route: string) => {
          const response = await fetch(`${url}${route}`, { headers: { Authorization: `token ${token}` } });
          assert.equal(response.status, 200, route);
          return response.text();
        };
        const specs = JSON.parse(await get('/api/kernelspecs')) as { kernelspecs: Record<string, unknown> };
        assert.ok('lmc-lab' in specs.kernelspecs, `kernelspecs: ${Object.keys(specs.kernelspecs).join(', ')}`);
        assert.match(
          await get('/lab'),
          /@lmc-lab\/jupyterlab/,
          "the extension is among the page's federated extensions",
        );
        const contents = JSON.parse(await get('/api/contents')) as { content: { name: string }[] };
        assert.deepEqual(
          contents.content.map((c) => c.name),
          ['mine.ipynb'],
          'serves the folder given',
        );
        assert.equal((await fetch(`${url}/api/kernelspecs`)).status, 403, 'the token is required');

        child.kill('SIGINT');
        const code = await Promise.race([
          exited,
          new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000)),
        ]);
        assert.equal(code, 0, `exit after Ctrl-C\nstderr: ${stderr.slice(-2000)}`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
