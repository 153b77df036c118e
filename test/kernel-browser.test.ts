/**
 * The kernel and its extension in a real browser: JupyterLab (from the project's Python
 * environment) serves a notebook whose kernel is lmc-lab (installed, with the JupyterLab extension,
 * into a temporary prefix), headless Chromium (Debian's, driven by playwright-core) opens it and
 * runs its cell with Shift+Enter, and the test waits for the plotly figure's SVG, drawn by the
 * extension's renderer from the figure's JSON. Then it opens a saved, unsigned (untrusted) notebook
 * of 20 figures, whose HTML fallback may not run its scripts: every figure must still draw. The
 * screenshots are kept in $LMC_TEST_ARTIFACTS or out/test-artifacts/.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { installTempKernelspec } from './fixtures/kernel/jupyter';
import { figure, figureBundle } from '../lib/display/figure';
import { tensorBundle } from '../lib/display/tensor';
import { maskSummary, maskSummaryBundle } from '../lib/display/mask';
import { tf } from '../lib/tf';
import * as aq from 'arquero';
import { tableBundle } from '../lib/display/table';
import { killProcessesUnder, startLabServer, within, type LabServer } from './fixtures/browser/lab-server';
import { artifactsDir, launchChromium, missingBrowserTools, waitForIdleKernel } from './fixtures/browser/chromium';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'browser');
const NOTEBOOK = 'plotly.ipynb';
const SAVED = 'saved-figures.ipynb';
const SAVED_FIGURES = 20;

/**
 * A notebook as nbconvert or a colleague's clone leaves it: 20 cells whose outputs are lmc-lab
 * figure bundles (the JSON and the HTML fallback, plotly.js in the first only), and no signature,
 * so JupyterLab treats every output as untrusted. Figure i has i + 2 points.
 */
function savedFiguresNotebook(): object {
  const cells = Array.from({ length: SAVED_FIGURES }, (_, i) => {
    const n = i + 2;
    const fig = figure(
      [
        {
          x: Array.from({ length: n }, (_, j) => j),
          y: Array.from({ length: n }, (_, j) => (j * 7) % 5),
          type: 'scatter',
          mode: 'markers',
        },
      ],
      { title: `saved ${i}`, height: 250 },
    );
    return {
      cell_type: 'code',
      id: `figure-${i}`,
      execution_count: i + 1,
      metadata: {},
      source: `lmc.display.figure(/* ${n} points */)`,
      outputs: [{ output_type: 'execute_result', execution_count: i + 1, metadata: {}, data: figureBundle(fig) }],
    };
  });
  // A weight matrix and a pruning mask, as lmc-lab shows them: HTML with an inline SVG heatmap and bars.
  const weights = tf.tensor2d(
    Array.from({ length: 96 }, (_, i) => Math.sin(i) * (i % 7)),
    [8, 12],
  );
  const mask = tf.tensor2d(
    Array.from({ length: 96 }, (_, i) => (i % 4 === 0 ? 0 : 1)),
    [8, 12],
  );
  const heavy = [
    { id: 'tensor', source: 'weights', data: tensorBundle(weights) },
    {
      id: 'mask',
      source: 'lmc.display.maskSummary(masks)',
      data: maskSummaryBundle(maskSummary(new Map([['dense1/kernel', mask]]))),
    },
    {
      id: 'table',
      source: 'runs',
      data: tableBundle(aq.table({ k: [0, 100, 500], instability: [0.0123, 0.0045, 0.0007] })),
    },
  ].map((c, i) => ({
    cell_type: 'code',
    id: c.id,
    execution_count: i + 1,
    metadata: {},
    source: c.source,
    outputs: [{ output_type: 'execute_result', execution_count: i + 1, metadata: {}, data: c.data }],
  }));
  weights.dispose();
  mask.dispose();
  return {
    cells: [...heavy, ...cells],
    metadata: {
      kernelspec: { display_name: 'TypeScript (lmc-lab)', language: 'typescript', name: 'lmc-lab' },
      language_info: { name: 'typescript' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

const missing = missingBrowserTools();

/**
 * Every wait is bounded by its own cap and by one deadline for them all (a run here takes about
 * 12 s); the shutdowns after it are bounded too (about 17 s at worst), so the whole stays under
 * the test's timeout and nothing is left to be killed by the runner.
 */
const WAITS_MS = 120_000;
const CAPS = {
  serverReady: 20_000,
  browserStart: 15_000,
  pageLoad: 15_000,
  kernelReady: 30_000,
  figure: 20_000,
  step: 5_000,
  saved: 20_000,
  training: 60_000,
};

describe('the lmc-lab kernel in JupyterLab, in headless Chromium', () => {
  it(
    'draws a figure through the extension when a cell is run, and every figure of a saved untrusted notebook',
    { skip: skipWhenMissing(missing), timeout: 160_000 },
    async (t) => {
      requireTools(missing);
      const started = Date.now();
      const deadline = started + WAITS_MS;
      /** The time a wait may take: its cap, or what is left before the deadline. */
      const upTo = (cap: number) => Math.max(1, Math.min(cap, deadline - Date.now()));
      const timings: string[] = [];
      const speed: string[] = [];
      let phaseStart = started;
      const phase = (name: string) => {
        timings.push(`${name} ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
        phaseStart = Date.now();
      };

      const screenshot = path.join(artifactsDir(), 'kernel-browser.png');
      fs.rmSync(screenshot, { force: true });
      const spec = installTempKernelspec();
      // One temp folder holds everything this test starts: its name finds stragglers at the end.
      const root = path.dirname(spec.workDir);
      const env = { ...spec.env, JUPYTER_DATA_DIR: path.join(root, 'data') };

      let server: LabServer | undefined;
      let context: BrowserContext | undefined;
      const consoleLines: string[] = [];
      try {
        fs.copyFileSync(path.join(FIXTURES, NOTEBOOK), path.join(spec.workDir, NOTEBOOK));
        fs.writeFileSync(path.join(spec.workDir, SAVED), JSON.stringify(savedFiguresNotebook(), null, 1));
        server = await startLabServer({
          notebookDir: spec.workDir,
          env,
          kernelName: 'lmc-lab',
          readyTimeoutMs: upTo(CAPS.serverReady),
        });
        phase('server ready');
        context = await launchChromium(path.join(root, 'chromium-profile'), upTo(CAPS.browserStart));
        phase('browser started');
        await context.addInitScript({ content: FIGURE_CLOCK });
        const page = context.pages()[0] ?? (await context.newPage());
        page.on('console', (m) => consoleLines.push(`console.${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
        const diagnostics = () => `\nbrowser console:\n${consoleLines.join('\n')}\nserver log:\n${server?.log() ?? ''}`;

        try {
          await page.goto(server.notebookUrl(NOTEBOOK), { waitUntil: 'load', timeout: upTo(CAPS.pageLoad) });
          phase('page loaded');
          await waitForIdleKernel(server, upTo(CAPS.kernelReady));
          phase('kernel ready');

          // As a user would: select the code cell and press Shift+Enter.
          const cell = page.locator('.jp-Notebook .jp-CodeCell').first();
          await cell.locator('.cm-content').click({ timeout: upTo(CAPS.step) });
          await page.keyboard.press('Shift+Enter');

          const output = cell.locator('.jp-OutputArea');
          const svg = output.locator('.js-plotly-plot svg.main-svg').first();
          await svg.waitFor({ state: 'visible', timeout: upTo(CAPS.figure) });
          phase('figure drawn');
          await svg.scrollIntoViewIfNeeded({ timeout: upTo(CAPS.step) });
          // Drawn, not just created: one marker per point, and the title.
          await page.waitForFunction(
            "document.querySelectorAll('.jp-CodeCell .jp-OutputArea .js-plotly-plot .scatterlayer " +
              ".point').length === 3",
            null,
            { timeout: upTo(CAPS.step) },
          );

          assert.equal(
            await output.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count(),
            0,
            `the cell reported an error${diagnostics()}`,
          );
          assert.equal((await output.locator('.gtitle').first().textContent())?.trim(), 'browser test');
          assert.match((await cell.locator('.jp-OutputPrompt').first().textContent()) ?? '', /\[1\]/);
          // Only the extension's renderer makes .lmc-plotly.
          assert.ok(
            (await output.locator('.lmc-plotly svg.main-svg').count()) > 0,
            `drawn by the extension's renderer, not the HTML fallback${diagnostics()}`,
          );
          const height = await output
            .locator('.lmc-plotly svg.main-svg')
            .first()
            .evaluate((svg) => svg.getBoundingClientRect().height);
          assert.ok(height >= 300, `the figure is ${height} px high`);
          await page.screenshot({ path: path.join(artifactsDir(), 'figure-cell.png'), timeout: 5_000 });

          // The next cell trains: its progress display is redrawn in place until the run is done.
          await page.keyboard.press('Shift+Enter');
          const progressCell = page.locator('.jp-Notebook .jp-CodeCell').nth(1);
          await progressCell
            .locator('.lmc-progress-view .lmc-progress-done')
            .waitFor({ state: 'attached', timeout: upTo(CAPS.training) });
          phase('training progress done');
          const statuses = (await page.evaluate('window.__lmcProgressStatuses')) as string[];
          assert.ok(statuses.length >= 4, `the progress was redrawn live: ${statuses.join(' | ')}`);
          assert.equal(statuses[statuses.length - 1], 'done');
          assert.match((await progressCell.locator('.lmc-progress-details').textContent()) ?? '', /step 200\/200/);
          speed.push(`progress: ${statuses.length} states drawn (${statuses.slice(0, 6).join(', ')}, ...)`);
          await progressCell.scrollIntoViewIfNeeded({ timeout: upTo(CAPS.step) });
          await page.screenshot({ path: path.join(artifactsDir(), 'progress-cell.png'), timeout: 5_000 });

          // The stop button ends a training cell within 3 s, and the next cell runs.
          const cells = page.locator('.jp-Notebook .jp-CodeCell');
          await page.keyboard.press('Shift+Enter');
          await cells
            .nth(2)
            .locator('.jp-OutputArea', { hasText: 'training started' })
            .waitFor({ timeout: upTo(CAPS.training) });
          const stopClicked = Date.now();
          await page
            .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar [data-jp-item-name="interrupt"] button')
            .click({ timeout: upTo(CAPS.step) });
          await cells
            .nth(2)
            .locator('.jp-OutputArea', { hasText: 'TrainingCancelled' })
            .waitFor({ timeout: upTo(CAPS.step) });
          const stopSeconds = (Date.now() - stopClicked) / 1000;
          assert.ok(stopSeconds < 3, `the stop button took ${stopSeconds} s`);
          speed.push(`stop button: training cell ended ${stopSeconds.toFixed(2)} s after the click`);
          await page.keyboard.press('Shift+Enter');
          await cells
            .nth(3)
            .locator('.jp-OutputArea', { hasText: 'the kernel runs cells after a stop' })
            .waitFor({ timeout: upTo(CAPS.step) });
          phase('stopped and ran on');

          // Tab after `lmc.presetCon` completes from the library; Shift+Tab
          // in `lmc.trainFrom(` shows its signature and doc comment.
          await cells
            .nth(4)
            .locator('.cm-content')
            .click({ timeout: upTo(CAPS.step) });
          await page.keyboard.press('End');
          await page.keyboard.press('Tab');
          const completer = page.locator('.jp-Completer');
          await completer.waitFor({ state: 'visible', timeout: upTo(CAPS.step) });
          assert.match((await completer.textContent()) ?? '', /presetConfig/);
          await page.keyboard.press('Escape');
          await cells
            .nth(5)
            .locator('.cm-content')
            .click({ timeout: upTo(CAPS.step) });
          await page.keyboard.press('End');
          await page.keyboard.press('Shift+Tab');
          const tooltip = page.locator('.jp-Tooltip');
          await tooltip.waitFor({ state: 'visible', timeout: upTo(CAPS.step) });
          const tip = (await tooltip.textContent()) ?? '';
          assert.match(
            tip,
            /trainFrom\(configInput: lmc\.(train\.)?TrainConfig, options\?: lmc\.train\.TrainOptions\)/,
            tip,
          );
          assert.match(tip, /Trains from `?options\.from`? \(or W_0\) to `?options\.to`? \(or T\)/, tip);
          await page.screenshot({ path: path.join(artifactsDir(), 'inspect-tooltip.png'), timeout: 5_000 });
          await page.keyboard.press('Escape');
          phase('completion and inspection');

          // A saved notebook nobody signed: only a safe renderer may draw it.
          await page.goto(server.notebookUrl(SAVED), { waitUntil: 'load', timeout: upTo(CAPS.pageLoad) });
          phaseStart = Date.now();
          const firstDrawn = page.waitForFunction(
            "document.querySelector('.jp-OutputArea .lmc-plotly .scatterlayer .point') !== null",
            null,
            { timeout: upTo(CAPS.saved) },
          );
          await firstDrawn;
          phase('first saved figure drawn');
          // Untrusted HTML goes through JupyterLab's sanitizer, which strips SVG: the tensor's heatmap is
          // drawn by the extension from its JSON; the mask summary's density bars are plain HTML and survive.
          const heavy = (await page.evaluate(`(() => {
          const out = (id) =>
            document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-OutputArea-output')[id];
          const bar = out(1)?.querySelector('tbody tr td:last-child div div');
          const table = [...(out(2)?.querySelectorAll('tbody tr') ?? [])]
            .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()));
          return {
            paths: out(0)?.querySelectorAll('.lmc-tensor-view .lmc-heatmap svg path').length ?? 0,
            svgWidth: out(0)?.querySelector('.lmc-tensor-view .lmc-heatmap svg')?.getBoundingClientRect().width ?? 0,
            bar: bar ? bar.getBoundingClientRect().width : -1, table, html: out(0)?.innerHTML.slice(0, 400) };
        })()`)) as { paths: number; svgWidth: number; bar: number; table: string[][]; html: string };
          // An arquero table is plain HTML: it survives the sanitizer whole, so it needs no renderer.
          assert.deepEqual(
            heavy.table.map((row) => row.filter((c) => c !== '')),
            [
              ['0', '0.0123'],
              ['100', '0.0045'],
              ['500', '0.0007'],
            ],
            JSON.stringify(heavy.table),
          );
          assert.ok(
            heavy.paths >= 2 && heavy.svgWidth > 50,
            `the tensor's heatmap drew in an untrusted output: ${JSON.stringify(heavy)}`,
          );
          assert.equal(
            heavy.bar,
            75,
            `the mask's density bar kept its width (75% of 100 px): ${JSON.stringify(heavy)}`,
          );
          await page.screenshot({ path: path.join(artifactsDir(), 'saved-tensor-and-mask.png'), timeout: 5_000 });
          speed.push(
            `untrusted tensor heatmap: ${heavy.paths} shade paths, ${heavy.svgWidth.toFixed(0)} px wide; ` +
              `mask density bar ${heavy.bar} px`,
          );
          // Every figure of the notebook, scrolling down as a reader would
          // (JupyterLab renders cells as they come into view).
          const seen = new Map<string, number>();
          while (seen.size < SAVED_FIGURES && Date.now() < deadline) {
            const drawn = (await page.evaluate(DRAWN_FIGURES)) as [string, number][];
            for (const [title, points] of drawn) if (title !== '' && points > 0) seen.set(title, points);
            await page.evaluate(SCROLL_DOWN);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          for (let i = 0; i < SAVED_FIGURES; i++)
            assert.equal(
              seen.get(`saved ${i}`),
              i + 2,
              `saved figure ${i} drawn with its ${i + 2} points${diagnostics()}`,
            );
          const times = (await page.evaluate('window.__lmcFigureTimes')) as {
            output: number | null;
            drawn: Record<string, number>;
          };
          const drawnAt = Object.values(times.drawn).sort((x, y) => x - y);
          const firstDelay = times.output === null ? NaN : drawnAt[0] - times.output;
          const gaps = drawnAt.slice(1).map((at, i) => at - drawnAt[i]);
          speed.push(
            `saved notebook: first figure drawn ${firstDelay.toFixed(0)} ms after the first output appeared; ` +
              `all ${SAVED_FIGURES} drawn ${(drawnAt[drawnAt.length - 1] - drawnAt[0]).toFixed(0)} ms ` +
              `after the first, scrolling 400 px per 50 ms; median gap ${median(gaps).toFixed(0)} ms`,
          );
          phase(`all ${SAVED_FIGURES} saved figures drawn`);
          await page.screenshot({ path: path.join(artifactsDir(), 'saved-figures.png'), timeout: 5_000 });
          // Nothing in the console is an error: JupyterLab, the extension and plotly.js all loaded cleanly.
          const errors = consoleLines.filter((line) => /^(pageerror|console\.error)/.test(line));
          assert.deepEqual(errors, [], 'no error in the browser console');
          speed.push(
            `browser console: ${consoleLines.length} lines, ` +
              `${consoleLines.filter((l) => l.startsWith('console.warn')).length} warnings, no errors`,
          );
        } catch (e) {
          (e as Error).message += diagnostics();
          throw e;
        } finally {
          // Kept on failure too: it shows what the page looked like when the wait gave up.
          await page
            .screenshot({ path: screenshot, timeout: 5_000 })
            .catch((e: Error) => t.diagnostic(`screenshot failed: ${e.message}`));
        }
      } finally {
        if (context) await within(context.close(), 5_000);
        if (server) await server.stop();
        const stragglers = killProcessesUnder(root);
        if (stragglers.length > 0) t.diagnostic(`killed processes left behind: ${stragglers.join(', ')}`);
        spec.remove();
        phase('shut down');
        t.diagnostic(`${timings.join(', ')}; screenshot ${screenshot}`);
        for (const line of speed) t.diagnostic(line);
      }
      assert.ok(fs.existsSync(screenshot), `no screenshot at ${screenshot}`);
    },
  );
});

/** [title, points] of each figure the extension has drawn in the visible notebook (evaluated in the page). */
const DRAWN_FIGURES = `[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .lmc-plotly')].map((el) => [
  el.querySelector('.gtitle')?.textContent ?? '', el.querySelectorAll('.scatterlayer .point').length])`;
const SCROLL_DOWN =
  "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')" + '?.scrollBy(0, 400)';

/**
 * Runs in the page before JupyterLab: notes when the first output of a notebook appears, when
 * each figure (by title) has its points drawn (in the page's own clock), and each status a
 * progress display shows.
 */
const FIGURE_CLOCK = `window.__lmcFigureTimes = { output: null, drawn: {} };
window.__lmcProgressStatuses = [];
new MutationObserver(() => {
  const statuses = window.__lmcProgressStatuses;
  const status = document.querySelector('.lmc-progress-view .lmc-progress-status')?.textContent;
  if (status && statuses[statuses.length - 1] !== status) statuses.push(status);
  const t = window.__lmcFigureTimes;
  if (t.output === null && document.querySelector('.jp-OutputArea-output')) t.output = performance.now();
  for (const el of document.querySelectorAll('.lmc-plotly')) {
    const title = el.querySelector('.gtitle')?.textContent;
    if (title && !(title in t.drawn) && el.querySelector('.scatterlayer .point')) t.drawn[title] = performance.now();
  }
}).observe(document, { childList: true, subtree: true });`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}
