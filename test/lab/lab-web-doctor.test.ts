/**
 * The lab page's doctor panel in headless Chromium: a spec typed into the page and a CSV picked
 * as a file from disk, diagnosed in the page's workers with live progress, the report drawn
 * with gradlab's renderer, and the verdict the same as `diagnose` gives in Node on the same
 * data, seed and budget. GRADLAB_SKIP_BROWSER=1 skips it, as it does lab-web.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose, loadDataSource, validateSpec, init, type ModelSpec } from '../../dist/ts/index.js';
import type { DoctorRunState } from '../../lab/web/doctor-panel.js';
// @ts-ignore -- plain ESM helper of the browser suite, shared
import { chromiumMissing, launchChromium } from '../browser/chromium.mjs';

const skip = process.env.GRADLAB_SKIP_BROWSER === '1';
const CONFIG_FILE = fileURLToPath(new URL('../../lab/web/vite.config.ts', import.meta.url));
const SPEC = {
  input: [4],
  layers: [...[1, 2, 3, 4].map((i) => ({ type: 'dense', units: 8, activation: 'sigmoid', name: `h${i}` })), { type: 'dense', units: 2, name: 'out' }],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.5 },
};
/**
 * 200 rows of 4 features in [0, 1] (the RBM pretraining trial refuses others: diagnose does not
 * yet skip it for such data); the class says which of the first two features is larger.
 */
const CSV = `a,b,c,d,label\n${Array.from({ length: 200 }, (_, i) => {
  const f = [Math.sin(i), Math.cos(3 * i), Math.sin(7 * i), Math.cos(11 * i)].map((v) => Number(((v + 1) / 2).toFixed(6)));
  return `${f.join(',')},${f[0] > f[1] ? 1 : 0}`;
}).join('\n')}\n`;

describe.skipIf(skip)('the doctor panel of the lab page in headless Chromium', () => {
  let outDir = '';
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const logs: string[] = [];

  beforeAll(async () => {
    const missing = chromiumMissing();
    if (missing) throw new Error(`${missing} (or set GRADLAB_SKIP_BROWSER=1 to skip the browser tests deliberately)`);
    outDir = await mkdtemp(join(tmpdir(), 'gradlab-lab-doctor-'));
    await build({ configFile: CONFIG_FILE, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: CONFIG_FILE, logLevel: 'silent', build: { outDir }, preview: { port: 0, host: '127.0.0.1', strictPort: true } });
    const { port } = server.httpServer.address() as AddressInfo;
    browser = await launchChromium();
    page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.httpServer.close(resolve) : resolve(undefined)));
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it("diagnoses a typed spec on a CSV from disk in workers, with progress, with diagnose's verdict in Node", async () => {
    const p = page!;
    await p.fill('#doctor-spec', JSON.stringify(SPEC));
    await p.setInputFiles('#doctor-data', { name: 'data.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await p.fill('#doctor-controls [name=seed]', '3');
    await p.fill('#doctor-controls [name=steps]', '40');
    await p.click('#doctor-start');
    try {
      await p.waitForFunction(() => ['done', 'error'].includes(window.doctorRun?.status ?? ''), null, { timeout: 90_000 });
    } catch (error) {
      throw new Error(`the diagnosis did not finish: ${(error as Error).message}\n${logs.join('\n')}`);
    }
    const run = (await p.evaluate(() => window.doctorRun)) as DoctorRunState;
    expect(run.error, logs.join('\n')).toBeUndefined();
    const report = run.report!;
    expect(Object.keys(run.progress)).toContain('original');
    expect(run.progress.original).toEqual({ step: 40, steps: 40 });
    expect(await p.locator('#doctor-report svg').count()).toBeGreaterThanOrEqual(4);
    expect(await p.locator('#doctor-report .verdict').textContent()).toBe(`Verdict: ${report.verdict}`);

    await init();
    const spec = validateSpec(SPEC) as ModelSpec;
    const data = await loadDataSource(spec, { name: 'data.csv', bytes: new TextEncoder().encode(CSV) });
    const node = await diagnose(spec, data, { seed: 3, steps: 40 });
    expect(report.verdict).toBe(node.verdict);
    expect(report.layers.map((l) => l.name)).toEqual(node.layers.map((l) => l.name));
    expect(report.trials.map((t) => t.remedy).sort()).toEqual(node.trials.map((t) => t.remedy).sort());
    // Not the trials' numbers: two diagnose runs in Node with the same seed already differ in
    // some trials' improvement (elu 0.575 vs 0.5 seen), so the recommendation can differ too.
    expect(report.trials.map((t) => t.remedy)).toContain(report.recommendation.remedy);
  });
});
