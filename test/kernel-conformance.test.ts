/**
 * The standard kernel conformance suite, jupyter_kernel_test (from the project's Python
 * environment), against the kernelspec that `lmc kernel install` writes
 * (test/fixtures/kernel/conformance.py holds the samples).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { installTempKernelspec, missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const missing = missingPythonModules(['jupyter_client', 'jupyter_kernel_test']);

/** Runs a command to completion, collecting its output (without blocking the test runner). */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, options);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('jupyter_kernel_test conformance', () => {
  it(
    'passes every test that applies (only the pager test is skipped)',
    { skip: skipWhenMissing(missing), timeout: 180_000 },
    async () => {
      requireTools(missing);
      const spec = installTempKernelspec();
      try {
        const { code, output } = await run(TEST_PYTHON, ['-m', 'unittest', '-v', 'conformance'], {
          cwd: spec.workDir,
          env: spec.env,
        });
        assert.equal(code, 0, output);
        const ran = /Ran (\d+) tests?/.exec(output);
        assert.ok(ran && Number(ran[1]) >= 12, `too few tests ran:\n${output}`);
        const skipped = output.split('\n').filter((l) => /\.\.\. skipped/.test(l));
        assert.deepEqual(
          skipped.map((l) => /^(test_\w+)/.exec(l)?.[1]),
          ['test_pager'],
          output,
        );
      } finally {
        spec.remove();
      }
    },
  );
});
