/**
 * The kernel in a real browser: JupyterLab (from the project's Python environment) serves a
 * notebook whose kernel is lmc-lab (installed into a temporary prefix), headless Chromium
 * (Debian's, driven by playwright-core) opens it and runs its cell with Shift+Enter, and the test
 * waits for the plotly figure's SVG: the text/html bundle must load plotly.js offline and draw in
 * the page. The screenshot is kept in $LMC_TEST_ARTIFACTS or out/test-artifacts/kernel-browser.png.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { installTempKernelspec } from './fixtures/kernel/jupyter';
import { killProcessesUnder, missingLabServer, startLabServer, within, type LabServer } from './fixtures/browser/lab-server';
import { requireTools, skipWhenMissing } from './fixtures/tools';

/** Debian's Chromium (playwright-core downloads no browser of its own). */
const CHROMIUM = '/usr/bin/chromium';

/** Headless, and no background connections: this machine's closed network refuses them at every start. */
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'browser');
const NOTEBOOK = 'plotly.ipynb';

/** Where the screenshot goes (out/ is ignored by git). */
function artifactsDir(): string {
  const dir = process.env.LMC_TEST_ARTIFACTS ?? path.join(REPO, 'out', 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function missingTools(): string | null {
  const missing: string[] = [];
  if (!fs.existsSync(CHROMIUM)) missing.push(`${CHROMIUM} is absent (apt-get install chromium)`);
  const server = missingLabServer();
  if (server) missing.push(server);
  return missing.length === 0 ? null : missing.join('; ');
}

const missing = missingTools();

/**
 * Every wait is bounded by its own cap and by one deadline for them all (a run here takes about
 * 12 s); the shutdowns after it are bounded too (about 17 s at worst), so the whole stays under
 * the test's timeout and nothing is left to be killed by the runner.
 */
const WAITS_MS = 60_000;
const CAPS = { serverReady: 20_000, browserStart: 15_000, pageLoad: 15_000, kernelReady: 30_000, figure: 20_000, step: 5_000 };

describe('the lmc-lab kernel in JupyterLab, in headless Chromium', () => {
  it('draws a plotly figure as SVG when a cell is run', { skip: skipWhenMissing(missing), timeout: 100_000 }, async (t) => {
    requireTools(missing);
    const started = Date.now();
    const deadline = started + WAITS_MS;
    /** The time a wait may take: its cap, or what is left before the deadline. */
    const upTo = (cap: number) => Math.max(1, Math.min(cap, deadline - Date.now()));
    const timings: string[] = [];
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
      server = await startLabServer({ notebookDir: spec.workDir, env, kernelName: 'lmc-lab', readyTimeoutMs: upTo(CAPS.serverReady) });
      phase('server ready');
      context = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        timeout: upTo(CAPS.browserStart),
        viewport: { width: 1200, height: 900 },
      });
      phase('browser started');
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
        await page.waitForFunction("document.querySelectorAll('.jp-CodeCell .jp-OutputArea .js-plotly-plot .scatterlayer .point').length === 3", null, { timeout: upTo(CAPS.step) });

        assert.equal(await output.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count(), 0, `the cell reported an error${diagnostics()}`);
        assert.equal((await output.locator('.gtitle').first().textContent())?.trim(), 'browser test');
        assert.match((await cell.locator('.jp-OutputPrompt').first().textContent()) ?? '', /\[1\]/);
      } catch (e) {
        (e as Error).message += diagnostics();
        throw e;
      } finally {
        // Kept on failure too: it shows what the page looked like when the wait gave up.
        await page.screenshot({ path: screenshot, timeout: 5_000 }).catch((e: Error) => t.diagnostic(`screenshot failed: ${e.message}`));
      }
    } finally {
      if (context) await within(context.close(), 5_000);
      if (server) await server.stop();
      const stragglers = killProcessesUnder(root);
      if (stragglers.length > 0) t.diagnostic(`killed processes left behind: ${stragglers.join(', ')}`);
      spec.remove();
      phase('shut down');
      t.diagnostic(`${timings.join(', ')}; screenshot ${screenshot}`);
    }
    assert.ok(fs.existsSync(screenshot), `no screenshot at ${screenshot}`);
  });
});

/** Waits until the page has started the notebook's kernel and the server reports it idle. */
async function waitForIdleKernel(server: LabServer, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  let last = 'no kernel yet';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${server.baseUrl}/api/kernels`, { headers: { Authorization: `token ${server.token}` }, signal: AbortSignal.timeout(3_000) });
      const kernels = (await response.json()) as { name: string; execution_state: string }[];
      if (kernels.some((k) => k.name === 'lmc-lab' && k.execution_state === 'idle')) return;
      last = kernels.map((k) => `${k.name} ${k.execution_state}`).join(', ') || 'no kernel yet';
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no idle lmc-lab kernel within ${timeout} ms (last: ${last})`);
}
