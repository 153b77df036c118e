/**
 * The Runs panel in a real JupyterLab in headless Chromium, against a real store: `lmc quickstart
 * --scale smoke` fills it, and another process trains a unit meanwhile. The panel must list every
 * unit, show the other process's unit running with its step advancing, draw a selected pair's
 * curve (as many points as the pair has alphas), filter, and insert the cell that loads the
 * selection into the open notebook, which then runs. Then a notebook executed by `lmc notebooks`
 * (nbconvert, so its outputs are untrusted) is opened and its figures must draw. Screenshots go to
 * $LMC_TEST_ARTIFACTS or out/test-artifacts/.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { installTempKernelspec } from './fixtures/kernel/jupyter';
import { killProcessesUnder, startLabServer, within, type LabServer } from './fixtures/browser/lab-server';
import { artifactsDir, launchChromium, missingBrowserTools, waitForIdleKernel } from './fixtures/browser/chromium';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const REPO = path.resolve(__dirname, '..', '..');
const LMC = path.join(REPO, 'bin', 'lmc.js');
const missing = missingBrowserTools();

/** Trains one long trunk unit into the store of $LMC_HOME: the "other process" the panel must see. */
const TRAINER = `
const lmc = require(${JSON.stringify(path.join(REPO, 'dist', 'lib', 'index.js'))});
const config = lmc.presetConfig('lenet_mnist', 'smoke', { training: '400000it', initSeed: 77 });
lmc.initBackend()
  .then(() => lmc.experiments.trunk(lmc.experiments.experimentContext({ workers: 1 }), config, 400000))
  .catch((e) => { console.error(e); process.exit(1); });
`;

/** A notebook cell that trains a long trunk unit in the notebook's kernel while the panel watches. */
const NOTEBOOK_TRAINING = `const long =
  lmc.presetConfig('lenet_mnist', 'smoke', { training: '400000it', initSeed: 78 });
await lmc.experiments.trunk(lmc.experiments.experimentContext({ workers: 1 }), long, 400000);`;

/** Runs the lmc CLI to completion; throws with its output when it fails. */
function lmc(args: string[], env: NodeJS.ProcessEnv, cwd: string): string {
  const run = spawnSync(process.execPath, [LMC, ...args], { env, cwd, encoding: 'utf8', timeout: 240_000 });
  if (run.status !== 0)
    throw new Error(`lmc ${args.join(' ')} exited ${run.status ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** The Runs panel's rows as the page shows them: [kind, state text, hash]. */
const ROWS =
  `[...document.querySelectorAll('#lmc-lab-runs .lmc-runs-row')].map((tr) => [tr.dataset.kind, ` +
  `tr.querySelector('.lmc-runs-state').textContent, tr.dataset.hash])`;

describe('the Runs panel in JupyterLab, in headless Chromium', () => {
  it(
    'lists the store, follows a unit another process trains, draws a pair, inserts its cell; ' +
      'an nbconvert-executed notebook draws its figures',
    { skip: skipWhenMissing(missing), timeout: 300_000 },
    async (t) => {
      requireTools(missing);
      const timings: string[] = [];
      let phaseStart = Date.now();
      const phase = (name: string) => {
        timings.push(`${name} ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
        phaseStart = Date.now();
      };
      const spec = installTempKernelspec();
      const root = path.dirname(spec.workDir);
      const home = path.join(root, 'lmc-home');
      const env = { ...spec.env, JUPYTER_DATA_DIR: path.join(root, 'data'), LMC_HOME: home, LMC_SCALE: 'smoke' };
      const screenshots = artifactsDir();
      let server: LabServer | undefined;
      let context: BrowserContext | undefined;
      let trainer: ChildProcess | undefined;
      const consoleLines: string[] = [];
      try {
        lmc(['quickstart', '--scale', 'smoke'], env, root);
        const stored = JSON.parse(lmc(['ls', '--json'], env, root)) as { units: { hash: string; kind: string }[] };
        const pairs = stored.units.filter((u) => u.kind === 'instability-pair');
        assert.ok(pairs.length >= 2, `the quick start made ${pairs.length} pairs`);
        const curve = JSON.parse(
          fs.readFileSync(path.join(home, 'store', 'instability-pair', pairs[0].hash, 'curve.json'), 'utf8'),
        ) as { split: string }[];
        const alphas = curve.filter((p) => p.split === 'test').length;
        phase(`store of ${stored.units.length} units`);
        lmc(['notebooks', '--only', '00', '--scale', 'smoke', '--out', path.join(spec.workDir, 'executed')], env, root);
        phase('notebook 00 executed by nbconvert');

        trainer = spawn(process.execPath, ['-e', TRAINER], { env, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
        let trainerErr = '';
        trainer.stderr!.on('data', (c: Buffer) => (trainerErr += c.toString()));
        fs.writeFileSync(
          path.join(spec.workDir, 'analysis.ipynb'),
          JSON.stringify({
            cells: [
              { cell_type: 'code', id: 'first', metadata: {}, execution_count: null, outputs: [], source: '1 + 1' },
              {
                cell_type: 'code',
                id: 'train',
                metadata: {},
                execution_count: null,
                outputs: [],
                source: NOTEBOOK_TRAINING,
              },
            ],
            metadata: {
              kernelspec: { display_name: 'TypeScript (lmc-lab)', language: 'typescript', name: 'lmc-lab' },
              language_info: { name: 'typescript' },
            },
            nbformat: 4,
            nbformat_minor: 5,
          }),
        );
        server = await startLabServer({
          notebookDir: spec.workDir,
          env,
          kernelName: 'lmc-lab',
          readyTimeoutMs: 20_000,
        });
        context = await launchChromium(path.join(root, 'chromium-profile'), 15_000);
        const page = context.pages()[0] ?? (await context.newPage());
        page.on('console', (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
        const diagnostics = () =>
          `\ntrainer: ${trainerErr}\nbrowser console:\n${consoleLines.join('\n')}\nserver log:\n${server?.log() ?? ''}`;
        try {
          await page.goto(server.notebookUrl('analysis.ipynb'), { waitUntil: 'load', timeout: 15_000 });
          await waitForIdleKernel(server, 30_000);
          phase('JupyterLab and the notebook kernel ready');

          // The panel's tab in the left side bar; it starts its own kernel and lists the store.
          await page
            .locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="lmc-lab-runs"]')
            .click({ timeout: 10_000 });
          const panel = page.locator('#lmc-lab-runs');
          // Wider than the side bar's default, as a user would drag it to read the table.
          const stack = await page.locator('#jp-left-stack').boundingBox();
          if (stack) {
            await page.mouse.move(stack.x + stack.width + 2, stack.y + 200);
            await page.mouse.down();
            await page.mouse.move(620, stack.y + 200, { steps: 5 });
            await page.mouse.up();
          }
          await page.waitForFunction(`${ROWS}.filter(([, state]) => state.startsWith('running ')).length > 0`, null, {
            timeout: 60_000,
          });
          phase('panel lists the store and the running unit');
          const first = (await page.evaluate(ROWS)) as [string, string, string][];
          for (const u of stored.units)
            assert.ok(
              first.some(([, , hash]) => hash === u.hash),
              `unit ${u.kind}/${u.hash} listed${diagnostics()}`,
            );
          const running = first.find(([kind, state]) => kind === 'trunk' && state.startsWith('running '));
          assert.ok(
            running,
            `the other process's trunk shows as running: ${JSON.stringify(first.filter(([, s]) => s !== 'finished'))}`,
          );
          assert.match(running[1], /^running \d+\/400000, ETA /);
          const stepOf = (rows: [string, string, string][]) =>
            Number(/running (\d+)\//.exec(rows.find(([, , h]) => h === running[2])?.[1] ?? '')?.[1]);
          const before = stepOf(first);
          await page.waitForFunction(
            `(${ROWS}).some(([, s, h]) => h === ${JSON.stringify(running[2])} ` +
              `&& Number(/running (\\d+)\\//.exec(s)?.[1]) > ${before})`,
            null,
            { timeout: 10_000 },
          );
          const after = stepOf((await page.evaluate(ROWS)) as [string, string, string][]);
          t.diagnostic(`running unit: step ${before} then ${after} in the panel`);
          await page.screenshot({ path: path.join(screenshots, 'runs-panel-running.png'), timeout: 5_000 });

          // Filter to the pairs, select the first: its curve is drawn with one point per alpha.
          await panel.locator('.lmc-runs-filter').fill('kind=instability-pair');
          assert.equal(await panel.locator('.lmc-runs-row').count(), pairs.length);
          await panel.locator(`.lmc-runs-row[data-hash="${pairs[0].hash}"] .lmc-runs-select`).check();
          await page.waitForFunction(
            "document.querySelectorAll('#lmc-lab-runs .lmc-runs-figure svg.main-svg').length >= 3",
            null,
            { timeout: 20_000 },
          );
          const drawn = (await page.evaluate(
            `[...document.querySelectorAll('#lmc-lab-runs .lmc-runs-figure')].map((el) => ` +
              `[el.querySelector('.gtitle')?.textContent ?? '', ` +
              `el.data.filter((t) => (t.mode ?? '').includes('lines')).map((t) => t.x.length)])`,
          )) as [string, number[]][];
          assert.equal(drawn[0][0], 'Error along the path (1 pair)');
          assert.deepEqual(drawn[0][1], [alphas, alphas], `train and test along the path, ${alphas} alphas each`);
          assert.match(drawn[1][0], /^Instability against k/);
          assert.match(drawn[2][0], /^L2 distance against k/);
          phase('pair drawn');
          await page.screenshot({ path: path.join(screenshots, 'runs-panel.png'), timeout: 5_000 });

          // "Insert cell" writes the loading cell below the active cell; run it: a table of the selection.
          await panel.locator('.lmc-runs-insert').click();
          const cells = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell');
          await page.waitForFunction(
            "document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell').length === 3",
            null,
            { timeout: 5_000 },
          );
          const inserted = (await cells.nth(1).locator('.cm-content').textContent()) ?? '';
          assert.match(inserted, new RegExp(`lmc\\.experiments\\.runsTable\\(\\[.*'${pairs[0].hash.slice(0, 16)}'`));
          await cells.nth(1).locator('.cm-content').click();
          await page.keyboard.press('Shift+Enter');
          const output = cells.nth(1).locator('.jp-OutputArea');
          await output.locator('table').first().waitFor({ timeout: 30_000 });
          const table = (await output.textContent()) ?? '';
          assert.match(table, /instability-pair/, `${table}${diagnostics()}`);
          assert.match(table, new RegExp(pairs[0].hash.slice(0, 12)));
          phase('cell inserted and run');
          await page.screenshot({ path: path.join(screenshots, 'runs-panel-inserted.png'), timeout: 5_000 });

          // The notebook's own kernel trains now (the cell stays
          // busy): the panel shows that unit too, its step advancing.
          await panel.locator('.lmc-runs-filter').fill('state=running');
          await cells.nth(2).locator('.cm-content').click();
          await page.keyboard.press('Shift+Enter');
          await page.waitForFunction(`${ROWS}.filter(([, state]) => state.startsWith('running ')).length >= 2`, null, {
            timeout: 30_000,
          });
          const busyRow = ((await page.evaluate(ROWS)) as [string, string, string][]).find(
            ([, state, hash]) => state.startsWith('running ') && hash !== running[2],
          )!;
          const busyStep = Number(/running (\d+)\//.exec(busyRow[1])?.[1]);
          await page.waitForFunction(
            `(${ROWS}).some(([, s, h]) => h === ${JSON.stringify(busyRow[2])} ` +
              `&& Number(/running (\\d+)\\//.exec(s)?.[1]) > ${busyStep})`,
            null,
            { timeout: 10_000 },
          );
          assert.match(
            (await cells.nth(2).locator('.jp-InputPrompt').textContent()) ?? '',
            /\[\*\]/,
            'the training cell is still busy',
          );
          phase("a unit training in the notebook's kernel shown live");
          await page.screenshot({ path: path.join(screenshots, 'runs-panel-notebook-training.png'), timeout: 5_000 });
          await page
            .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar [data-jp-item-name="interrupt"] button')
            .click();
          await cells.nth(2).locator('.jp-OutputArea', { hasText: 'TrainingCancelled' }).waitFor({ timeout: 10_000 });

          // A notebook executed by nbconvert (outputs untrusted): its figures draw through the extension.
          await page.goto(server.notebookUrl('executed/00-quickstart.ipynb'), { waitUntil: 'load', timeout: 15_000 });
          await page.waitForFunction(
            "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea .lmc-plotly " +
              ".scatterlayer .trace') !== null",
            null,
            { timeout: 20_000 },
          );
          const figures = await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .lmc-plotly svg.main-svg').count();
          assert.ok(figures >= 1, 'the executed notebook draws its figures');
          phase(`executed notebook: ${figures} figure(s) drawn`);
          await page.screenshot({ path: path.join(screenshots, 'executed-notebook.png'), timeout: 5_000 });

          const errors = consoleLines.filter((line) => /^(pageerror|console\.error)/.test(line));
          assert.deepEqual(errors, [], 'no error in the browser console');
        } catch (e) {
          (e as Error).message += diagnostics();
          await page
            .screenshot({ path: path.join(screenshots, 'runs-panel-failure.png'), timeout: 5_000 })
            .catch(() => undefined);
          throw e;
        }
      } finally {
        trainer?.kill('SIGKILL');
        if (context) await within(context.close(), 5_000);
        if (server) await server.stop();
        const stragglers = killProcessesUnder(root);
        if (stragglers.length > 0) t.diagnostic(`killed processes left behind: ${stragglers.join(', ')}`);
        spec.remove();
        t.diagnostic(timings.join(', '));
      }
    },
  );
});
