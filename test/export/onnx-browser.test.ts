/**
 * The ONNX export in real headless Chromium (Debian's, through playwright-core): the page
 * test/export/onnx-page exports every network of onnx-cases.ts and runs it in ONNX Runtime
 * Web beside gradlab's `predict`, both in the browser. Set GRADLAB_SKIP_BROWSER=1 to skip it
 * on purpose, as for test/browser.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM helper shared with the benchmarks
import { buildPage, chromiumMissing, launchChromium, pageResult, servePage } from '../browser/chromium.mjs';
import { BATCH_SIZES, ONNX_CASES } from './onnx-cases.js';
import type { OnnxPageResult } from './onnx-page/main.js';
import type { Browser } from 'playwright-core';

const skip = process.env.GRADLAB_SKIP_BROWSER === '1';
const PAGE = fileURLToPath(new URL('./onnx-page/', import.meta.url));

describe.skipIf(skip)('the ONNX export in headless Chromium', () => {
  let page: { outDir: string; remove: () => Promise<void> } | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    const missing = chromiumMissing();
    if (missing) throw new Error(`${missing} (or set GRADLAB_SKIP_BROWSER=1 to skip the browser tests deliberately)`);
    page = await buildPage(PAGE);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await page?.remove();
  });

  it('runs every exported network in ONNX Runtime Web as gradlab predicts it, to 1e-5', async () => {
    const server = await servePage(page!.outDir, false);
    let result: OnnxPageResult;
    try {
      result = (await pageResult(browser, server.url)) as OnnxPageResult;
    } finally {
      server.close();
    }
    expect(result.runs).toHaveLength(ONNX_CASES.length * BATCH_SIZES.length);
    for (const run of result.runs) {
      expect(run.shape, `${run.name}, batch ${run.batch}`).toEqual(run.expectedShape);
      expect(run.error, `${run.name}, batch ${run.batch}`).toBeLessThanOrEqual(1e-5);
    }
    console.log(`Chromium: ${result.runs.length} runs, largest error ${Math.max(...result.runs.map((r) => r.error)).toExponential(2)}`);
  });
});
