// Debian's cargo (the one whose rustc has the wasm32 standard library) is too old to read
// today's crates.io index, so a newer cargo copies the crates of Cargo.lock into
// target/vendor once, and the old one builds from there offline.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fetchingCargo } from './bindgen-tools.mjs';

/**
 * The environment `cargo` needs to find the crates of Cargo.lock: nothing when it is the
 * cargo that reaches crates.io, else a CARGO_HOME whose config makes it read target/vendor
 * offline (a home, not flags, so that the `cargo metadata` wasm-pack runs sees it too).
 */
export function crateSourceEnv(root, cargo) {
  return cargo === fetchingCargo() ? {} : vendoredCrates(root);
}

function vendoredCrates(root) {
  const dir = resolve(root, 'target', 'vendor');
  const stamp = join(dir, '.cargo-lock-sha256');
  const lockHash = createHash('sha256').update(readFileSync(join(root, 'Cargo.lock'))).digest('hex');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockHash) {
    const cargo = fetchingCargo();
    const args = ['vendor', '--locked', '--versioned-dirs', dir];
    if (!cargo) {
      console.error(`gradlab: the crates of Cargo.lock are not vendored and no rustup cargo can fetch them. Run:\n  cargo ${args.join(' ')}`);
      process.exit(1);
    }
    console.log(`gradlab: vendoring the crates of Cargo.lock into target/vendor (cargo ${args.join(' ')})`);
    const result = spawnSync(cargo, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) process.exit(result.status ?? 1);
    writeFileSync(stamp, lockHash);
  }
  const home = resolve(root, 'target', 'cargo-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'config.toml'),
    `[net]\noffline = true\n\n[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = ${JSON.stringify(dir)}\n`,
  );
  return { CARGO_HOME: home };
}
