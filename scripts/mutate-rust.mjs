// Mutation testing of the Rust core with cargo-mutants: every mutant of crates/core is built
// and tested natively with the same compiler as `npm run test:rust` (Debian's 1.63 when
// present); cargo-mutants itself is installed with rustup's cargo. Extra arguments go to
// cargo-mutants, e.g. `npm run mutate:rust -- --file crates/core/src/nn/optimizer.rs`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeToolchain } from './toolchain.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rustupCargo = join(homedir(), '.cargo', 'bin', 'cargo');
const installer = existsSync(rustupCargo) ? rustupCargo : 'cargo';
const mutants = join(homedir(), '.cargo', 'bin', 'cargo-mutants');
if (!existsSync(mutants)) {
  console.log('gradlab: installing cargo-mutants with rustup\'s cargo');
  const install = spawnSync(installer, ['install', 'cargo-mutants', '--locked'], { stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const { rustc, rustdoc, cargo, label } = nativeToolchain();
console.log(`gradlab: cargo mutants on crates/core with ${label}`);
// One job: the machines have two cores and other work on them; the timeout is generous
// because a mutant can turn a loop into one that runs for long.
const args = ['mutants', '--package', 'gradlab-core', '--jobs', '1', '--timeout-multiplier', '3', '--output', join(root, 'target'), ...process.argv.slice(2)];
const run = spawnSync(mutants, args, {
  cwd: root,
  env: { ...process.env, CARGO: cargo, RUSTC: rustc, ...(rustdoc ? { RUSTDOC: rustdoc } : {}), RUSTFLAGS: '' },
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
