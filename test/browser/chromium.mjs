/**
 * Running the browser page (test/browser/page) in Debian's Chromium: build it with Vite, serve
 * it (optionally cross-origin isolated), launch Chromium through playwright-core, and wait for
 * what the page publishes. Shared by test/browser/browser.test.ts and bench/suites/workers.mjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build } from 'vite';

/** Where Debian's chromium package puts the browser (never a downloaded one). */
export const CHROMIUM = '/usr/bin/chromium';

const PAGE_ROOT = fileURLToPath(new URL('./page/', import.meta.url));
const CONTENT_TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumMissing() {
  return existsSync(CHROMIUM) ? undefined : `browser runs need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium`;
}

/**
 * Builds a page (by default the trainer's, test/browser/page) with Vite into a fresh temporary folder.
 * @param {string} root the folder of the page's index.html
 * @returns {Promise<{ outDir: string, remove: () => Promise<void> }>}
 */
export async function buildPage(root = PAGE_ROOT) {
  const outDir = await mkdtemp(path.join(tmpdir(), 'gradlab-page-'));
  await build({ root, configFile: false, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  return { outDir, remove: () => rm(outDir, { recursive: true, force: true }) };
}

/**
 * Serves `root` on a free port; `isolated` adds the headers that make the page cross-origin
 * isolated (COOP same-origin, COEP require-corp), which browsers require for SharedArrayBuffer.
 * @param {string} root
 * @param {boolean} isolated
 * @returns {Promise<{ url: string, close: () => void }>}
 */
export async function servePage(root, isolated) {
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = path.join(root, pathname === '/' ? 'index.html' : pathname);
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    const headers = { 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    response.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

/** Launches headless Chromium with the flags DESIGN.md prescribes. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Opens `url` and waits for the page to publish `window.gradlabResult` (or
 * `window.gradlabFailure`, which becomes an error with the page's console).
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 */
export async function pageResult(browser, url, timeout = 100_000) {
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.gradlabResult !== undefined || window.gradlabFailure !== undefined, null, { timeout });
    const failure = await page.evaluate(() => window.gradlabFailure);
    if (failure) throw new Error(`the page failed: ${failure}\n${logs.join('\n')}`);
    return await page.evaluate(() => window.gradlabResult);
  } finally {
    await page.close();
  }
}
