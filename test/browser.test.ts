/**
 * gradlab in real headless Chromium (Debian's, driven by playwright-core): a Vite-built page
 * (test/browser/page) imports the built package as a user would and trains in a worker. Served
 * twice: with COOP/COEP headers (cross-origin isolated, so gradients are exchanged through
 * SharedArrayBuffer) and without (transferred buffers). The page must keep drawing frames, the
 * loss must fall, and the weights must equal Node's for the same seed bit for bit.
 *
 * Without /usr/bin/chromium the suite fails with a message saying how to install it; set
 * GRADLAB_SKIP_BROWSER=1 to skip it on purpose (CI installs chromium and never sets it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../dist/ts/index.js';
import { RUN, SPEC, dataset, hashState } from './browser/fixture.js';
import type { PageResult } from './browser/page/main.js';

const CHROMIUM = '/usr/bin/chromium';
const PAGE_ROOT = fileURLToPath(new URL('./browser/page/', import.meta.url));
const skip = process.env.GRADLAB_SKIP_BROWSER === '1';

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves `root`; with `isolated`, with the headers that make a page cross-origin isolated. */
async function serve(root: string, isolated: boolean): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = path.join(root, pathname === '/' ? 'index.html' : pathname);
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    response.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

describe.skipIf(skip)('in headless Chromium', () => {
  let outDir = '';
  let browser: Browser | undefined;
  let nodeHash = '';
  let nodeDataHash = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`browser tests need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium (or set GRADLAB_SKIP_BROWSER=1 to skip them deliberately)`);
    }
    outDir = await mkdtemp(path.join(tmpdir(), 'gradlab-page-'));
    await build({ root: PAGE_ROOT, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    // The same run in Node, for the bit-for-bit comparison.
    const data = dataset(192);
    nodeDataHash = hashState({ x: data.x, y: { shape: data.y.shape, data: new Float32Array(data.y.data.buffer) } });
    const trainer = await createTrainer(SPEC, { seed: RUN.seed });
    await trainer.fit(data, { epochs: RUN.epochs, batchSize: RUN.batchSize, seed: RUN.shuffleSeed });
    nodeHash = hashState(await trainer.stateDict());
    await trainer.dispose();
  });

  afterAll(async () => {
    await browser?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** Loads the page and waits for what it publishes. */
  async function run(isolated: boolean): Promise<PageResult> {
    const { server, url } = await serve(outDir, isolated);
    const page = await (browser as Browser).newPage();
    const logs: string[] = [];
    page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
    try {
      await page.goto(url);
      await page.waitForFunction(() => window.gradlabResult !== undefined || window.gradlabFailure !== undefined, null, { timeout: 100_000 });
      const failure = await page.evaluate(() => window.gradlabFailure);
      if (failure) throw new Error(`the page failed: ${failure}\n${logs.join('\n')}`);
      return (await page.evaluate(() => window.gradlabResult)) as PageResult;
    } finally {
      await page.close();
      server.close();
    }
  }

  for (const isolated of [true, false]) {
    it(`trains in a worker, stays responsive and matches Node bit for bit (${isolated ? 'cross-origin isolated: shared' : 'not isolated: transferred'} gradients)`, async () => {
      const result = await run(isolated);
      expect(result.capabilities).toMatchObject({ runtime: 'browser', simd: true, workers: 'web', crossOriginIsolated: isolated, sharedArrayBuffer: isolated, gradientExchange: isolated ? 'shared' : 'transfer' });
      expect(result.parallelExchange).toBe(isolated ? 'shared' : 'transfer');
      // The loss falls.
      expect(result.losses).toHaveLength(RUN.epochs * Math.ceil(192 / RUN.batchSize));
      expect(result.epochLosses.at(-1)).toBeLessThan(result.epochLosses[0] * 0.8);
      // Frames keep coming while the worker trains (the gap is reported, never asserted: wall time).
      expect(result.frames).toBeGreaterThan(2);
      console.log(`Chromium (${isolated ? 'isolated' : 'not isolated'}): ${result.frames} frames while training, longest gap ${result.maxFrameGapMs.toFixed(1)} ms`);
      // The same seed gives the same weights as Node, bit for bit.
      expect(result.dataHash).toBe(nodeDataHash);
      expect(result.stateHash).toBe(nodeHash);
      // Two workers equal one on the same global batches.
      expect(result.parallelRelativeError).toBeLessThanOrEqual(1e-5);
      // Errors arrive typed; a killed worker rejects; abort stops within one step.
      expect(result.error).toEqual({ gradlabError: true, code: 'ShapeMismatch', arg: 'x' });
      expect(result.killedCode).toBe('WorkerDied');
      expect(result.aborted.stopped).toBe(true);
      expect(result.aborted.steps).toBeLessThanOrEqual(4);
    });
  }
});
