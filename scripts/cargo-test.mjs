// Runs the native Rust tests with the oldest supported compiler available (Debian's 1.63).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeToolchain } from './toolchain.mjs';
import { crateSourceEnv } from './vendor-crates.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { rustc, rustdoc, cargo, label } = nativeToolchain();
console.log(`gradlab: cargo test with ${label}`);
const run = spawnSync(cargo, ['test', '--workspace', ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, ...crateSourceEnv(root, cargo), RUSTC: rustc, ...(rustdoc ? { RUSTDOC: rustdoc } : {}), RUSTFLAGS: '' },
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
