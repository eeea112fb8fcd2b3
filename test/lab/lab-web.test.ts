/**
 * The lab page (lab/web) in headless Chromium: built with Vite's JS API, served with
 * `vite preview` (as `npm run lab:web` serves it), driven like a user (fill the form, press
 * Start) and checked against the CLI: the per-epoch learning speeds the chart received equal
 * the CLI's `speedHistory` for the same seed, bit for bit, and every measurement equals the
 * same run replayed in Node. The doctor panel diagnoses a typed spec on a CSV picked from
 * disk in the page's workers, with the verdict diagnose gives in Node.
 *
 * Without /usr/bin/chromium the suite fails with a message saying how to install it; set
 * GRADLAB_SKIP_BROWSER=1 to skip it on purpose (CI installs chromium and never sets it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistSplit } from '../../lab/dist/data.js';
import { diagnose, init, loadDataSource, validateSpec } from '../../dist/ts/index.js';
import { DEFAULT_CONFIG, type RunConfig } from '../../lab/web/config.js';
import type { LabRunState } from '../../lab/web/main.js';
import type { DoctorRunState } from '../../lab/web/doctor-panel.js';
import type { EpochPoint } from '../../lab/web/protocol.js';
import { measureRun } from '../../lab/web/run.js';
// @ts-ignore -- plain ESM helper of the browser suite, shared
import { chromiumMissing, launchChromium } from '../browser/chromium.mjs';

const skip = process.env.GRADLAB_SKIP_BROWSER === '1';
const CONFIG_FILE = fileURLToPath(new URL('../../lab/web/vite.config.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../lab/dist/main.js', import.meta.url));
const SEED = 5;
/** Where the screenshot of the last run goes (for a human to look at). */
const SCREENSHOT = join(tmpdir(), 'lab-web.png');
/** The doctor panel's network: a deep sigmoid net on a CSV of 4 features. */
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

/** The CLI's quick vanishing run: `speedHistory` of every net, keyed by hidden-layer count. */
async function cliSpeedHistories(seed: number): Promise<Map<number, number[][]>> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'lab', 'vanishing', '--quick', '--json', '--seed', String(seed)], { maxBuffer: 64 << 20 });
  const result = JSON.parse(stdout) as { nets: { sizes: number[]; speedHistory: number[][] }[] };
  return new Map(result.nets.map((net) => [net.sizes.length - 2, net.speedHistory]));
}

/** The same run in Node: every net's measurements in epoch order. */
async function nodeRun(config: RunConfig): Promise<Record<string, EpochPoint[]>> {
  const [core, data] = await Promise.all([init(), mnistSplit()]);
  const byNet: Record<string, EpochPoint[]> = {};
  for (const { net, point } of measureRun(core, config, data)) (byNet[net] ??= []).push(point);
  return byNet;
}

describe.skipIf(skip)('the lab page in headless Chromium', () => {
  let outDir = '';
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let cli: Map<number, number[][]>;
  const logs: string[] = [];

  beforeAll(async () => {
    const missing = chromiumMissing();
    if (missing) throw new Error(`${missing} (or set GRADLAB_SKIP_BROWSER=1 to skip the browser tests deliberately)`);
    outDir = await mkdtemp(join(tmpdir(), 'gradlab-lab-web-'));
    const built = build({ configFile: CONFIG_FILE, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    [cli] = await Promise.all([cliSpeedHistories(SEED), built]);
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

  /** Fills the form with `config`, presses Start, and returns what the page received once the run ends. */
  async function runOnPage(config: RunConfig): Promise<LabRunState> {
    const p = page!;
    for (const name of ['experiment', 'activation', 'remedy'] as const) await p.selectOption(`[name=${name}]`, config[name]);
    for (const name of ['depth', 'epochs', 'seed'] as const) await p.fill(`[name=${name}]`, String(config[name]));
    await p.click('#start');
    try {
      await p.waitForFunction(() => ['done', 'stopped', 'error'].includes(window.labRun?.status ?? ''), null, { timeout: 40_000 });
    } catch (error) {
      throw new Error(`the run did not finish: ${(error as Error).message}\n${logs.join('\n')}`);
    }
    const run = (await p.evaluate(() => window.labRun)) as LabRunState;
    expect(run.error, logs.join('\n')).toBeUndefined();
    return run;
  }

  /** The chart of `net` once it has drawn `points` epochs: how many layer lines it has. */
  async function chartLines(net: string, points: number): Promise<number> {
    const figure = `figure[data-net="${net}"][data-epochs="${points}"]`;
    await page!.waitForSelector(figure, { timeout: 10_000 });
    return page!.locator(`${figure} svg path`).count();
  }

  it("the vanishing set-up: the chart gets every layer, and the speeds are the CLI's bit for bit", async () => {
    const config: RunConfig = { ...DEFAULT_CONFIG, experiment: 'vanishing', depth: 4, activation: 'sigmoid', remedy: 'none', epochs: 3, seed: SEED };
    const run = await runOnPage(config);
    expect(run.status).toBe('done');
    expect(run.nets.map((net) => net.key)).toEqual(['net']);
    const points = run.nets[0].points;
    expect(points.map((point) => point.epoch)).toEqual([0, 1, 2, 3]);
    for (const point of points) {
      expect(point.speeds).toHaveLength(4);
      expect(point.speeds.every((speed) => Number.isFinite(speed) && speed > 0)).toBe(true);
    }
    expect(await chartLines('net', 4)).toBe(4);
    // The CLI's [784,30,30,30,30,10] net trains with the same seed and loop: its first epochs are these.
    const history = cli.get(4)!;
    expect(points.slice(1).map((point) => point.speeds)).toEqual(history.slice(0, 3));
    // Everything else the page shows (epoch 0, ‖∂C/∂W‖, loss, test accuracy) equals Node's replay.
    expect(points).toEqual((await nodeRun(config)).net);
    // Nielsen's picture: the first hidden layer learns far slower than the last.
    expect(points[0].speeds[3] / points[0].speeds[0]).toBeGreaterThan(30);
    console.log(`lab page: ${run.frames} animation frames while training, longest gap ${run.longestFrameGap.toFixed(1)} ms`);
  });

  it('the remedy comparison: the sigmoid baseline is the CLI run, the remedy net equals Node, both charts share the table', async () => {
    const config: RunConfig = { experiment: 'remedy', depth: 4, activation: 'relu', remedy: 'batchnorm', epochs: 2, seed: SEED };
    const run = await runOnPage(config);
    expect(run.status).toBe('done');
    expect(run.nets.map((net) => net.key)).toEqual(['baseline', 'remedy']);
    const [baseline, remedy] = run.nets;
    expect(baseline.points.slice(1).map((point) => point.speeds)).toEqual(cli.get(4)!.slice(0, 2));
    const node = await nodeRun(config);
    expect(baseline.points).toEqual(node.baseline);
    expect(remedy.points).toEqual(node.remedy);
    expect(await chartLines('baseline', 3)).toBe(4);
    expect(await chartLines('remedy', 3)).toBe(4);
    // The chart selector redraws from what was received: weight-gradient norms, one row per net.
    await page!.selectOption('[name=metric]', 'weightGradNorms');
    await page!.waitForSelector('#latest th:has-text("‖∂C/∂W‖ h1")');
    expect(await page!.locator('#latest tr').count()).toBe(3);
    await page!.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('Stop ends a long run between epochs, with the epochs so far kept', async () => {
    const p = page!;
    await p.selectOption('[name=metric]', 'speeds');
    for (const [name, value] of Object.entries({ depth: '3', epochs: '500', seed: String(SEED) })) await p.fill(`[name=${name}]`, value);
    await p.selectOption('[name=experiment]', 'vanishing');
    await p.click('#start');
    await p.waitForFunction(() => (window.labRun?.nets[0].points.length ?? 0) >= 2, null, { timeout: 20_000 });
    await p.click('#start'); // now labelled Stop
    await p.waitForFunction(() => window.labRun?.status === 'stopped', null, { timeout: 20_000 });
    const run = (await p.evaluate(() => window.labRun)) as LabRunState;
    expect(run.nets[0].points.length).toBeGreaterThanOrEqual(2);
    expect(run.nets[0].points.length).toBeLessThan(501);
    expect(await p.textContent('#start')).toBe('Start');
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
    const spec = validateSpec(SPEC);
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
