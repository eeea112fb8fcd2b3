// Builds crates/wasm for wasm32-unknown-unknown with SIMD128 and copies it to dist/gradlab.wasm.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmToolchain } from './toolchain.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { rustc, cargo, label } = wasmToolchain();
const env = {
  ...process.env,
  RUSTC: rustc,
  RUSTFLAGS: '-C target-feature=+simd128',
};
const build = spawnSync(
  cargo,
  ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'gradlab-wasm'],
  { cwd: root, env, stdio: 'inherit' },
);
if (build.status !== 0) {
  console.error(`gradlab: the wasm build failed (${label})`);
  process.exit(build.status ?? 1);
}
const built = join(root, 'target', 'wasm32-unknown-unknown', 'release', 'gradlab_wasm.wasm');
mkdirSync(join(root, 'dist'), { recursive: true });
copyFileSync(built, join(root, 'dist', 'gradlab.wasm'));
console.log(`gradlab: built dist/gradlab.wasm (${(statSync(built).size / 1024).toFixed(0)} KiB) with ${label}`);
