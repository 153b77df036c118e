/**
 * The shipped notebooks: stored without outputs, each opening with its claim and closing with
 * measured numbers, code cells of at most 15 lines, and each executed at smoke scale by `lmc
 * notebooks` (the real lmc-lab kernel under Jupyter's own nbconvert) without a cell error, showing
 * every figure it builds, into an executed .ipynb and an offline HTML page.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const NOTEBOOKS = path.resolve(__dirname, '..', '..', 'notebooks');
const LMC = path.resolve(__dirname, '..', '..', 'bin', 'lmc.js');
const notebooks = fs
  .readdirSync(NOTEBOOKS)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const missing = missingPythonModules(['jupyter_client', 'nbclient', 'nbconvert']);

interface Cell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string }[];
}
const read = (file: string) =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Cell[]; metadata: { kernelspec?: { name?: string } } };
const source = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);

describe('notebooks/', () => {
  it('holds notebooks, stored without outputs, on the lmc-lab kernel', () => {
    assert.ok(notebooks.length > 0, 'no notebooks');
    for (const file of notebooks) {
      const nb = read(path.join(NOTEBOOKS, file));
      assert.equal(nb.metadata.kernelspec?.name, 'lmc-lab', `${file}: kernelspec`);
      for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
        assert.deepEqual(cell.outputs, [], `${file}: a cell has stored outputs; clear them before committing`);
        assert.equal(
          cell.execution_count,
          null,
          `${file}: a cell has an execution count; clear outputs before committing`,
        );
      }
    }
  });

  it('each opens with what its section claims and ends with what the runs here show, numbers filled in', () => {
    for (const file of notebooks) {
      const cells = read(path.join(NOTEBOOKS, file)).cells;
      assert.equal(cells[0].cell_type, 'markdown', `${file}: the first cell should say what the section claims`);
      const last = cells[cells.length - 1];
      assert.ok(
        last.cell_type === 'markdown' && /^## What the runs here show/m.test(source(last)),
        `${file}: the last cell should be "## What the runs here show"`,
      );
      assert.doesNotMatch(
        source(last),
        /QUICK-SCALE NUMBERS GO HERE/,
        `${file}: the quick-scale numbers are not filled in`,
      );
    }
  });

  it('keeps every code cell to 15 lines or fewer: longer helpers belong in lib/notebook, tested', () => {
    for (const file of notebooks) {
      for (const [index, cell] of read(path.join(NOTEBOOKS, file)).cells.entries()) {
        if (cell.cell_type !== 'code') continue;
        const lines = source(cell).split('\n').length;
        const fix = 'move its helpers into lib/notebook or split the cell';
        assert.ok(lines <= 15, `${file}: cell ${index} has ${lines} lines; ${fix}`);
      }
    }
  });

  it('lmc notebooks rejects an unknown notebook or scale, naming the flag and the choices', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [LMC, 'notebooks', ...args], { encoding: 'utf8' });
    const only = cli('--only', '99-nothing', '--out', fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-nb-')));
    assert.equal(only.status, 1);
    assert.match(
      only.stderr,
      /--only 99-nothing: no notebook name starts with that; notebooks are 00-quickstart\.ipynb/,
    );
    const scale = cli('--scale', 'huge');
    assert.equal(scale.status, 1);
    assert.match(scale.stderr, /--scale "huge": use one of paper, quick, smoke/);
  });

  it(
    '08 says how to get Fashion-MNIST when it is absent, and runs nothing else, without a cell error',
    { skip: skipWhenMissing(missing), timeout: 300_000 },
    () => {
      requireTools(missing);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-notebooks-absent-'));
      try {
        const [home, data] = [path.join(out, 'home'), path.join(out, 'data')];
        fs.mkdirSync(data);
        const run = spawnSync(
          process.execPath,
          [LMC, 'notebooks', '--scale', 'smoke', '--only', '08', '--out', out, '--timeout', '240'],
          {
            cwd: out,
            encoding: 'utf8',
            env: {
              ...process.env,
              JUPYTER_CONFIG_DIR: path.join(out, '.config'),
              JUPYTER_RUNTIME_DIR: path.join(out, '.runtime'),
              PATH: [path.dirname(TEST_PYTHON), process.env.PATH].join(path.delimiter),
              // Neither the data folder nor Debian's copy: as on a machine without dataset-fashion-mnist.
              LMC_HOME: home,
              LMC_DATA_DIR: data,
              LMC_SYSTEM_DATA: 'off',
            },
          },
        );
        assert.equal(run.status, 0, `08 failed:\n${run.stdout}\n${run.stderr}`);
        const executed = read(path.join(out, '08-convnets-on-real-images.ipynb'));
        const outputs = executed.cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs!);
        assert.ok(!outputs.some((o) => o.output_type === 'error'), 'a cell failed');
        const text = outputs
          .map((o) => String((o.data?.['text/plain'] as string | string[] | undefined) ?? ''))
          .join('\n');
        assert.match(text, /the fashion-mnist data is not on this machine/);
        assert.match(text, /apt-get install dataset-fashion-mnist/);
        assert.match(text, /skipped: Fashion-MNIST is not on this machine/);
        assert.ok(
          !outputs.some((o) => o.data && 'application/vnd.plotly.v1+json' in o.data),
          'a figure was drawn without data',
        );
        // Nothing trained: the store holds no unit.
        const units = ['trunk', 'copy', 'instability-pair', 'imp-level'].flatMap((kind) => {
          const dir = path.join(home, 'store', kind);
          return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
        });
        assert.deepEqual(units, []);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    },
  );

  for (const file of notebooks) {
    it(
      `${file} runs at smoke scale through \`lmc notebooks\` without errors and shows its figures`,
      { skip: skipWhenMissing(missing), timeout: 300_000 },
      () => {
        requireTools(missing);
        // Outside the repository, so that nothing resolves from its node_modules: the kernel must be self-contained.
        const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-notebooks-test-'));
        try {
          const name = file.replace(/\.ipynb$/, '');
          const run = spawnSync(
            process.execPath,
            [LMC, 'notebooks', '--scale', 'smoke', '--only', name, '--out', out, '--timeout', '240'],
            {
              cwd: out,
              encoding: 'utf8',
              env: {
                ...process.env,
                JUPYTER_CONFIG_DIR: path.join(out, '.config'),
                JUPYTER_RUNTIME_DIR: path.join(out, '.runtime'),
                // As a user with the project's environment activated: its jupyter first on PATH.
                PATH: [path.dirname(TEST_PYTHON), process.env.PATH].join(path.delimiter),
              },
            },
          );
          assert.equal(run.status, 0, `${file} failed:\n${run.stdout}\n${run.stderr}`);
          const executed = read(path.join(out, `${name}.ipynb`));
          const code = executed.cells.filter((c) => c.cell_type === 'code');
          for (const cell of code) {
            assert.ok(!cell.outputs!.some((o) => o.output_type === 'error'), `${file}: error in\n${source(cell)}`);
            if (/Plot\(|lmc\.display\.figure\(/.test(source(cell))) {
              assert.ok(
                cell.outputs!.some((o) => o.data && 'application/vnd.plotly.v1+json' in o.data),
                `${file}: no figure from\n${source(cell)}`,
              );
            }
          }
          // The offline page carries plotly.js itself when the notebook draws a figure.
          const html = fs.readFileSync(path.join(out, `${name}.html`), 'utf8');
          if (code.some((c) => /Plot\(|lmc\.display\.figure\(/.test(source(c))))
            assert.match(html, /Plotly\.newPlot|plotly\.js v\d/);
        } finally {
          fs.rmSync(out, { recursive: true, force: true });
        }
      },
    );
  }
});
