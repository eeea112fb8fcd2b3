// Builds crates/wasm with wasm-pack (wasm-bindgen glue, SIMD128) into pkg/ and copies the
// glue and the .wasm to dist/pkg/, where the compiled TypeScript imports them.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindgenTools } from './bindgen-tools.mjs';
import { wasmOptimizer, wasmToolchain } from './toolchain.mjs';
import { crateSourceEnv } from './vendor-crates.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What wasm-pack writes with `--out-name gradlab`, all of which the package ships. */
const PKG_FILES = ['gradlab.js', 'gradlab.d.ts', 'gradlab_bg.wasm', 'gradlab_bg.wasm.d.ts'];

const { rustc, cargo, label } = wasmToolchain();

/**
 * The shipped glue minified with rolldown (Vite's bundler, a dev dependency): the TypeScript
 * API documents itself, and the .wasm plus glue must stay under 600 KB. Without rolldown
 * (an install without dev dependencies) the glue ships as generated.
 */
function minifyGlue(source, target) {
  const rolldown = join(root, 'node_modules', '.bin', 'rolldown');
  if (!existsSync(rolldown)) return console.warn('gradlab: no rolldown in node_modules; the glue ships unminified');
  const run = spawnSync(rolldown, [source, '--format', 'esm', '--minify', '--file', target], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

/** binaryen's wasm-opt -O3 in place: 6 % smaller at the same speed (wasm-pack's own run is off). */
function optimize(file) {
  const wasmOpt = wasmOptimizer();
  if (!wasmOpt) return console.warn('gradlab: no wasm-opt (Debian: apt-get install -y binaryen); the .wasm stays unoptimised');
  const features = ['--enable-simd', '--enable-bulk-memory', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int'];
  const run = spawnSync(wasmOpt, ['-O3', ...features, file, '-o', file], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
const { wasmPack, wasmBindgen } = bindgenTools(root);
const env = {
  ...process.env,
  // wasm-pack runs `cargo` and, with --mode no-install, the `wasm-bindgen` it finds on PATH.
  PATH: [dirname(cargo), dirname(wasmBindgen), process.env.PATH].join(delimiter),
  RUSTC: rustc,
  RUSTFLAGS: '-C target-feature=+simd128',
  ...crateSourceEnv(root, cargo),
};
const args = [
  'build', 'crates/wasm', '--release', '--target', 'web', '--no-pack', '--mode', 'no-install',
  '--out-dir', join(root, 'pkg'), '--out-name', 'gradlab',
];
const build = spawnSync(wasmPack, args, { cwd: root, env, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`gradlab: the wasm build failed (wasm-pack ${args.join(' ')}, ${label})`);
  process.exit(build.status ?? 1);
}
const out = join(root, 'dist', 'pkg');
mkdirSync(out, { recursive: true });
for (const file of PKG_FILES) copyFileSync(join(root, 'pkg', file), join(out, file));
// wasm-bindgen declares [Symbol.dispose] on every class, which needs TypeScript's esnext.disposable
// library; the TypeScript API never exposes it, and consumers' projects must compile without it.
const declarations = join(out, 'gradlab.d.ts');
// Its init types name DOM-only types (RequestInfo, Response, BufferSource); gradlab passes a compiled
// module, so the shipped declarations say it with types that exist with only @types/node too.
const BYTES = 'ArrayBuffer | ArrayBufferView';
writeFileSync(
  declarations,
  readFileSync(declarations, 'utf8')
    .replace(/^\s*\[Symbol\.dispose\]\(\): void;\n/gm, '')
    .replace('InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module', `InitInput = string | URL | ${BYTES} | WebAssembly.Module`)
    .replace('SyncInitInput = BufferSource | WebAssembly.Module', `SyncInitInput = ${BYTES} | WebAssembly.Module`),
);
// Data, not a program: the .wasm ships without the executable bit whatever the umask made it.
chmodSync(join(out, 'gradlab_bg.wasm'), 0o644);
minifyGlue(join(root, 'pkg', 'gradlab.js'), join(out, 'gradlab.js'));
optimize(join(out, 'gradlab_bg.wasm'));
const size = (file) => statSync(join(out, file)).size / 1024;
console.log(`gradlab: built dist/pkg with wasm-pack and ${label}: gradlab_bg.wasm ${size('gradlab_bg.wasm').toFixed(0)} KiB, glue ${size('gradlab.js').toFixed(0)} KiB`);
