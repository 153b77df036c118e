/**
 * A notebook executed headless with `jupyter nbconvert --to notebook --execute`, in a folder
 * outside the repository, and its outputs checked cell by cell: execution counts, execute_result
 * bundles, errors with name and message, typed globals, in-place display updates (a training
 * progress display among them), clear_output.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, installTempKernelspec, missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const missing = missingPythonModules(['jupyter_client', 'nbclient', 'nbconvert']);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  execution_count?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count: number | null;
  outputs: Output[];
}

const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : (v ?? ''));

describe('a notebook executed with nbconvert on the lmc-lab kernel', () => {
  it('has the outputs the kernel promises', { skip: skipWhenMissing(missing), timeout: 180_000 }, async () => {
    requireTools(missing);
    const spec = installTempKernelspec();
    try {
      const input = path.join(spec.workDir, 'smoke.ipynb');
      fs.copyFileSync(path.join(FIXTURES, 'smoke.ipynb'), input);
      const args = [
        '-m',
        'nbconvert',
        '--to',
        'notebook',
        '--execute',
        '--allow-errors',
        '--ExecutePreprocessor.timeout=120',
        '--output',
        'executed.ipynb',
        input,
      ];
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(TEST_PYTHON, args, { cwd: spec.workDir, env: spec.env });
        let log = '';
        child.stdout.on('data', (c: Buffer) => (log += c.toString()));
        child.stderr.on('data', (c: Buffer) => (log += c.toString()));
        child.on('close', (status) => resolve({ code: status, output: log }));
      });
      assert.equal(code, 0, output);
      const notebook = JSON.parse(fs.readFileSync(path.join(spec.workDir, 'executed.ipynb'), 'utf8')) as {
        cells: Cell[];
      };
      const cells = new Map<string, Cell>();
      for (const cell of notebook.cells.filter((c) => c.cell_type === 'code')) {
        cells.set(/^\/\/ ([\w-]+):/.exec(text(cell.source))![1], cell);
      }
      const cell = (name: string) => cells.get(name)!;
      const result = (name: string) => cell(name).outputs.find((o) => o.output_type === 'execute_result');
      const show = (name: string) => JSON.stringify(cell(name).outputs, null, 1);

      const counts = [...cells.values()].map((c) => c.execution_count);
      assert.ok(
        counts.every((n, i) => typeof n === 'number' && (i === 0 || n > counts[i - 1]!)),
        `execution counts ${counts}`,
      );

      assert.equal(text(result('typed-lmc')?.data?.['text/plain']), '60', show('typed-lmc'));
      assert.equal(result('typed-lmc')?.execution_count, cell('typed-lmc').execution_count);
      assert.equal(text(result('typed-tf')?.data?.['text/plain']), '[ 2, 3 ]', show('typed-tf'));
      assert.equal(text(result('aq')?.data?.['text/plain']), '3', show('aq'));
      assert.equal(text(result('bundle')?.data?.['text/html']), '<b>own bundle</b>', show('bundle'));

      const runtime = cell('runtime-error').outputs.find((o) => o.output_type === 'error');
      assert.ok(runtime, show('runtime-error'));
      assert.equal(runtime.ename, 'Error');
      assert.match(runtime.evalue!, /no_such_preset/);
      assert.ok(
        runtime.traceback!.some((l) => l.includes(`In[${cell('runtime-error').execution_count}], line 3`)),
        show('runtime-error'),
      );

      const compile = cell('compile-error').outputs.find((o) => o.output_type === 'error');
      assert.ok(compile, show('compile-error'));
      assert.equal(compile.ename, 'CompileError');
      assert.match(compile.evalue!, /line 2, column 7: Type 'number' is not assignable to type 'string'/);

      const inPlace = cell('in-place').outputs;
      assert.equal(inPlace.length, 1, show('in-place'));
      assert.equal(inPlace[0].output_type, 'display_data');
      assert.equal(text(inPlace[0].data?.['text/plain']), 'step 5 of 5');

      const progress = cell('progress').outputs;
      assert.deepEqual(
        progress.map((o) => o.output_type),
        ['display_data', 'execute_result'],
        show('progress'),
      );
      assert.equal(text(progress[1].data?.['text/plain']), '20');

      const cleared = cell('clear')
        .outputs.map((o) => text(o.text))
        .join('');
      assert.equal(cleared, 'kept\n', show('clear'));
      assert.equal(text(result('after-errors')?.data?.['text/plain']), '120', show('after-errors'));
    } finally {
      spec.remove();
    }
  });
});
