// Finds a Rust toolchain that can build for wasm32-unknown-unknown: rustup's when it has the
// target, else Debian's at /usr/bin. As root on Debian with apt, installs Debian's packages.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const DEBIAN_PACKAGES = ['rustc', 'cargo', 'libstd-rust-dev-wasm32', 'lld', 'binaryen'];
const WASM_TARGET = 'wasm32-unknown-unknown';

function hasWasmStd(rustc) {
  try {
    const libdir = execFileSync(rustc, ['--print', 'target-libdir', '--target', WASM_TARGET], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return existsSync(libdir) && readdirSync(libdir).some((f) => f.startsWith('libstd-'));
  } catch {
    return false;
  }
}

function candidates() {
  return [
    { rustc: 'rustc', cargo: 'cargo', label: 'rustc on PATH' },
    { rustc: '/usr/bin/rustc', cargo: '/usr/bin/cargo', label: "Debian's rustc" },
  ];
}

function installDebianToolchain() {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/etc/debian_version') || !existsSync('/usr/bin/apt-get')) return false;
  console.log(`gradlab: no rustc with the ${WASM_TARGET} target; installing Debian's ${DEBIAN_PACKAGES.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) return false;
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...DEBIAN_PACKAGES], { stdio: 'inherit', env });
  return install.status === 0;
}

/** binaryen's wasm-opt, when installed (with the toolchain's Debian packages). */
export function wasmOptimizer() {
  return ['/usr/bin/wasm-opt', '/usr/local/bin/wasm-opt'].find((path) => existsSync(path));
}

/** A toolchain able to build the wasm: `{ rustc, cargo, label }`. Exits with a hint if none. */
export function wasmToolchain() {
  let found = candidates().find((c) => hasWasmStd(c.rustc));
  if (!found && installDebianToolchain()) found = candidates().find((c) => hasWasmStd(c.rustc));
  if (!found) {
    console.error(
      `gradlab: no Rust compiler with the ${WASM_TARGET} target was found.\n` +
        `  With rustup:        rustup target add ${WASM_TARGET}\n` +
        `  On Debian/Ubuntu:   apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`,
    );
    process.exit(1);
  }
  return found;
}

/** Debian's toolchain when present (it is the oldest compiler we support), else PATH's. */
export function nativeToolchain() {
  if (existsSync('/usr/bin/rustc') && existsSync('/usr/bin/cargo')) {
    return { rustc: "/usr/bin/rustc", rustdoc: "/usr/bin/rustdoc", cargo: "/usr/bin/cargo", label: "Debian's rustc" };
  }
  return { rustc: 'rustc', cargo: 'cargo', label: 'rustc on PATH' };
}
