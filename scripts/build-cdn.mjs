// The CDN / script-tag build: dist/cdn/gradlab.js (the library) and dist/cdn/trainer.worker.js
// (the worker), each one self-contained ES module with no bare imports, so a page loads them
// from static files or a CDN with no bundler and no import map for the worker (a module worker
// does not see the page's import map). Both keep finding the shared .wasm in dist/pkg.
import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, RolldownMagicString as MagicString } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cdn');

/**
 * The compiled modules find their assets two folders up (dist/ts/runtime → dist); the bundles
 * sit one folder below dist, and the library's worker is the bundled one beside it.
 */
const RELOCATED = [
  ["'../../pkg/gradlab_bg.wasm'", "'../pkg/gradlab_bg.wasm'"],
  ["'../../workers/trainer.worker.js'", "'./trainer.worker.js'"],
];
const relocate = {
  name: 'gradlab-cdn-paths',
  transform(code, id) {
    if (!id.includes(join('dist', 'ts', 'runtime')) || !RELOCATED.some(([from]) => code.includes(from))) return null;
    const text = new MagicString(code);
    for (const [from, to] of RELOCATED) text.replaceAll(from, to);
    return { code: text };
  },
};

const bundles = [
  ['dist/ts/index.js', 'gradlab.js'],
  ['dist/workers/trainer.worker.js', 'trainer.worker.js'],
];
for (const [input, file] of bundles) {
  await build({
    input: join(root, input),
    plugins: [relocate],
    // The optional 20 MB peer stays a bare import: a CDN page that calls loadMnist maps it.
    external: ['mnist'],
    logLevel: 'warn',
    output: { file: join(out, file), format: 'esm', minify: true, sourcemap: true },
  });
}
for (const [, file] of bundles) chmodSync(join(out, file), 0o644);
const size = (file) => (statSync(join(out, file)).size / 1024).toFixed(0);
console.log(`gradlab: built dist/cdn: gradlab.js ${size('gradlab.js')} KiB, trainer.worker.js ${size('trainer.worker.js')} KiB`);
