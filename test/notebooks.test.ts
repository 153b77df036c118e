/**
 * The shipped notebooks: stored without outputs, and each executes at smoke scale through the
 * real lmc-lab kernel with Jupyter's own client (nbconvert) without a cell error, showing every
 * figure it builds.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installTempKernelspec, missingPythonModules, SYSTEM_PYTHON } from './fixtures/kernel/jupyter';

const NOTEBOOKS = path.resolve(__dirname, '..', '..', 'notebooks');
const notebooks = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
const missing = missingPythonModules({ jupyter_client: 'jupyter-client', nbclient: 'python3-nbclient', nbconvert: 'jupyter-nbconvert' });

interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string }[];
}
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };
const source = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

describe('notebooks/', () => {
  it('holds notebooks, stored without outputs, on the lmc-lab kernel', () => {
    assert.ok(notebooks.length > 0, 'no notebooks');
    for (const file of notebooks) {
      const nb = read(path.join(NOTEBOOKS, file));
      assert.equal(nb.metadata.kernelspec?.name, 'lmc-lab', `${file}: kernelspec`);
      for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
        assert.deepEqual(cell.outputs, [], `${file}: a cell has stored outputs; clear them before committing`);
        assert.equal(cell.execution_count, null, `${file}: a cell has an execution count; clear outputs before committing`);
      }
    }
  });

  for (const file of notebooks) {
    it(`${file} runs at smoke scale without errors and shows its figures`, { skip: missing ?? false, timeout: 300_000 }, () => {
      const spec = installTempKernelspec();
      try {
        const input = path.join(spec.workDir, file);
        fs.copyFileSync(path.join(NOTEBOOKS, file), input);
        const run = spawnSync(SYSTEM_PYTHON, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=240', '--output', 'executed.ipynb', input], {
          cwd: spec.workDir, env: { ...spec.env, LMC_SCALE: 'smoke' }, encoding: 'utf8',
        });
        assert.equal(run.status, 0, `${file} failed:\n${run.stdout}\n${run.stderr}`);
        const executed = read(path.join(spec.workDir, 'executed.ipynb'));
        const code = executed.cells.filter((c) => c.cell_type === 'code');
        for (const cell of code) {
          assert.ok(!cell.outputs!.some((o) => o.output_type === 'error'), `${file}: error in\n${source(cell)}`);
          if (/Plot\(|lmc\.figure\(/.test(source(cell))) {
            assert.ok(cell.outputs!.some((o) => o.data && 'application/vnd.plotly.v1+json' in o.data), `${file}: no figure from\n${source(cell)}`);
          }
        }
      } finally {
        spec.remove();
      }
    });
  }
});
