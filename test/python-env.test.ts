/**
 * The project's Python environment (lib/cli/python-env.ts): a finished one is reused as it is; a
 * folder lmc-lab did not make is never removed. (Making one runs pip for minutes: `npm test`'s own
 * set-up does that, and every Python test then uses it.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensurePythonEnv, pythonEnvReady, REQUIREMENTS } from '../lib/cli/python-env';

test('a .venv lmc-lab did not make is left alone with an error saying so; a finished one is reused, no setup', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-python-env-'));
  try {
    const users = path.join(root, 'users-venv');
    fs.mkdirSync(users);
    fs.writeFileSync(path.join(users, 'precious.txt'), 'mine');
    const lines: string[] = [];
    const log = (l: string) => {
      lines.push(l);
    };
    assert.throws(
      () => ensurePythonEnv(log, process.env, users),
      /users-venv exists and was not made by lmc-lab, so it is left alone/,
    );
    assert.equal(fs.readFileSync(path.join(users, 'precious.txt'), 'utf8'), 'mine');
    assert.deepEqual(lines, [], 'nothing was started');

    // A finished environment: the stamp matches requirements.txt, so nothing runs (the python here is a stand-in).
    const done = path.join(root, 'done');
    fs.mkdirSync(path.join(done, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(done, 'bin', 'python'), '');
    assert.equal(pythonEnvReady(done), false, 'no stamp: not finished');
    fs.writeFileSync(
      path.join(done, 'requirements.sha256'),
      createHash('sha256').update(fs.readFileSync(REQUIREMENTS)).digest('hex') + '\n',
    );
    assert.equal(pythonEnvReady(done), true);
    assert.equal(ensurePythonEnv(log, process.env, done), path.join(done, 'bin', 'python'));
    assert.deepEqual(lines, [], 'a finished environment is reused without setup');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
