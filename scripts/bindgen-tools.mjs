// Finds wasm-pack and the wasm-bindgen CLI whose version equals the wasm-bindgen crate's in
// Cargo.lock (the two must match exactly), installing them once with cargo when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The directories searched for the tools: PATH, then cargo's install directory. */
function searchPath() {
  const cargoBin = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin');
  return [...(process.env.PATH ?? '').split(delimiter), cargoBin].filter(Boolean);
}

function find(name) {
  return searchPath().map((dir) => join(dir, name)).find((path) => existsSync(path));
}

function versionOf(path) {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/).pop();
  } catch {
    return undefined;
  }
}

/** The wasm-bindgen version pinned in Cargo.lock. */
export function lockedBindgenVersion(root) {
  const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
  const match = /\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"/.exec(lock);
  if (!match) throw new Error('gradlab: Cargo.lock pins no wasm-bindgen version');
  return match[1];
}

/**
 * The cargo that installs tools and fetches crates: one new enough for today's crates.io
 * index (rustup's), which is not necessarily the one that builds the wasm.
 */
export function fetchingCargo() {
  const candidates = [find('cargo'), join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin', 'cargo')];
  return candidates.find((path) => path && existsSync(path) && path !== '/usr/bin/cargo');
}

function install(crate, version, check) {
  const cargo = fetchingCargo();
  const args = ['install', crate, '--locked', ...(version ? ['--version', `=${version}`] : [])];
  const command = `cargo ${args.join(' ')}`;
  if (!cargo) {
    console.error(`gradlab: ${crate} is missing and no rustup cargo can install it. Run:\n  ${command}`);
    process.exit(1);
  }
  console.log(`gradlab: installing ${crate}${version ? ` ${version}` : ''} once (${command}); this takes a few minutes`);
  const result = spawnSync(cargo, args, { stdio: 'inherit' });
  const found = check();
  if (result.status !== 0 || !found) {
    console.error(`gradlab: '${command}' failed; run it by hand and build again`);
    process.exit(1);
  }
  return found;
}

/** `{ wasmPack, wasmBindgen }`: paths of the two tools, installed on first use. */
export function bindgenTools(root) {
  const version = lockedBindgenVersion(root);
  const bindgen = () => {
    const path = find('wasm-bindgen');
    return path && versionOf(path) === version ? path : undefined;
  };
  const pack = () => find('wasm-pack');
  return {
    wasmBindgen: bindgen() ?? install('wasm-bindgen-cli', version, bindgen),
    wasmPack: pack() ?? install('wasm-pack', undefined, pack),
  };
}
