/**
 * PyTorch as a contender: one Python process per benchmark run (pytorch_peer.py next to this
 * file, Debian's /usr/bin/python3 with python3-torch), driven over JSON lines. The workloads
 * are built and timed in Python — a turn is one message round trip — on the data Node sends,
 * so PyTorch trains on the same numbers as gradlab.
 *
 * Where Python or torch is missing, every PyTorch contender fails with the reason and its row
 * says "unavailable"; the other contenders still run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PEER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pytorch_peer.py');
/** Debian's python has python3-torch; override with GRADLAB_BENCH_PYTHON. */
const PYTHON = process.env.GRADLAB_BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** @typedef {{ kind: string, threads?: number, [key: string]: unknown }} TorchWorkload */

class TorchPeer {
  constructor() {
    // PASSIVE: OpenMP threads sleep instead of spinning between parallel regions, which on a
    // shared 2-core machine would steal the core the other side (or another process) needs.
    this.child = spawn(PYTHON, [PEER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env } });
    this.child.unref();
    /** @type {((answer: any) => void)[]} */
    this.waiting = [];
    this.stderr = '';
    this.exited = null;
    this.child.stderr.on('data', (chunk) => {
      this.stderr = (this.stderr + chunk).slice(-2000);
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => this.waiting.shift()?.(JSON.parse(line)));
    const fail = (reason) => {
      this.exited = reason;
      for (const resolve of this.waiting.splice(0)) resolve({ ok: false, error: reason });
    };
    this.child.on('error', (error) => fail(`cannot start ${PYTHON}: ${error.message}`));
    this.child.on('exit', (code) => fail(`${PYTHON} exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}`));
    this.nextId = 1;
  }

  /** Sends one request and resolves with its answer; rejects with the peer's error. */
  async request(message) {
    if (this.exited) throw new Error(this.exited);
    const answer = await new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
    if (!answer.ok) throw new Error(`PyTorch: ${answer.error}`);
    return answer;
  }

  close() {
    this.child.stdin.end();
  }
}

/** @type {Promise<{ peer: TorchPeer, hello: any }> | undefined} */
let started;

/**
 * The running peer and its hello (torch version, BLAS, cores), started on first use.
 * @returns {Promise<{ peer: TorchPeer, hello: any }>}
 */
export function torchPeer() {
  started ??= (async () => {
    const peer = new TorchPeer();
    const hello = await peer.request({ cmd: 'hello' });
    return { peer, hello };
  })();
  return started;
}

/** What the peer reported, or why it is unavailable (for notes and the summary). */
export async function torchInfo() {
  try {
    const { hello } = await torchPeer();
    return { available: true, ...hello };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Stops the peer (it also ends with this process). */
export async function closeTorchPeer() {
  if (!started) return;
  try {
    (await started).peer.close();
  } catch {
    // never started
  }
  started = undefined;
}

/** All cores: the label PyTorch's multi-threaded contender goes by. */
export const TORCH_ALL_THREADS = `PyTorch ${os.cpus().length} threads`;
export const TORCH_ONE_THREAD = 'PyTorch 1 thread';

/**
 * Encodes a Float32Array or Int32Array for the peer (little-endian, as both sides are here).
 * @param {Float32Array | Int32Array} array
 */
export function encode(array) {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

/** @param {string} text */
export function decodeFloats(text) {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * A PyTorch contender for `workload` on `threads` threads (0 = all cores). Its prepared
 * workload has no `run`: it is timed in Python, through `turn(ms)` (for `alternate`) and
 * `measure(options)` (for `compare`).
 * @param {TorchWorkload} workload
 * @param {{ threads?: number, label?: string }} [options]
 * @returns {import('../harness.mjs').Contender}
 */
export function torchContender(workload, { threads = 1, label } = {}) {
  return {
    label: label ?? (threads === 1 ? TORCH_ONE_THREAD : TORCH_ALL_THREADS),
    prepare: async () => {
      const { peer } = await torchPeer();
      const id = peer.nextId++;
      await peer.request({ cmd: 'prepare', id, workload: { ...workload, threads } });
      return {
        turn: async (ms) => (await peer.request({ cmd: 'turn', id, ms })).meanMs,
        measure: async (options) => peer.request({ cmd: 'measure', id, ...options }),
        dispose: () => void peer.request({ cmd: 'dispose', id }).catch(() => {}),
      };
    },
  };
}

/** Both PyTorch contenders (1 thread and all cores) for `workload`. */
export function torchContenders(workload) {
  return [torchContender(workload, { threads: 1 }), torchContender(workload, { threads: 0 })];
}

/**
 * gradlab's model description for the peer: the spec's kind and sizes plus a state dict.
 * @param {{ kind: 'mlp', sizes: number[], activation: string } | { kind: 'lstm', inputSize: number, hidden: number, output: number }} model
 * @param {Record<string, { shape: number[], data: Float32Array }>} [stateDict]
 */
export function torchModel(model, stateDict) {
  const state = stateDict
    ? Object.fromEntries(Object.entries(stateDict).map(([name, { shape, data }]) => [name, { shape, data: encode(data) }]))
    : undefined;
  return { ...model, ...(state ? { state } : {}) };
}

/**
 * The model exported to ONNX by torch.onnx.export (opset 14, dynamic batch), with PyTorch's
 * own output for `x` to check other runtimes against.
 * @param {object} model from {@link torchModel}
 * @param {{ shape: number[], data: Float32Array }} x
 * @returns {Promise<{ onnx: Uint8Array, y: Float32Array }>}
 */
export async function exportOnnx(model, x) {
  const { peer } = await torchPeer();
  const answer = await peer.request({ cmd: 'export_onnx', model, shape: x.shape, x: encode(x.data) });
  return { onnx: new Uint8Array(Buffer.from(answer.onnx, 'base64')), y: decodeFloats(answer.y) };
}
