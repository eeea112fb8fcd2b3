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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../dist/ts/index.js';
// @ts-ignore -- plain ESM helper shared with the benchmarks
import { buildPage, chromiumMissing, launchChromium, pageResult, servePage } from './chromium.mjs';
import { RUN, SPEC, dataset, hashState } from './fixture.js';
import type { PageResult } from './page/main.js';
import type { Browser } from 'playwright-core';

const skip = process.env.GRADLAB_SKIP_BROWSER === '1';

describe.skipIf(skip)('in headless Chromium', () => {
  let page: { outDir: string; remove: () => Promise<void> } | undefined;
  let browser: Browser | undefined;
  let nodeHash = '';
  let nodeDataHash = '';

  beforeAll(async () => {
    const missing = chromiumMissing();
    if (missing) throw new Error(`${missing} (or set GRADLAB_SKIP_BROWSER=1 to skip the browser tests deliberately)`);
    page = await buildPage();
    browser = await launchChromium();
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
    await page?.remove();
  });

  /** Serves the page (isolated or not) and waits for what it publishes. */
  async function run(isolated: boolean): Promise<PageResult> {
    const server = await servePage(page!.outDir, isolated);
    try {
      return (await pageResult(browser, server.url)) as PageResult;
    } finally {
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
      expect(result.frames).toBeGreaterThanOrEqual(10);
      console.log(`Chromium (${isolated ? 'isolated' : 'not isolated'}): ${result.frames} frames while training, longest gap ${result.maxFrameGapMs.toFixed(1)} ms (during ${result.maxFrameGapPhase})`);
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
