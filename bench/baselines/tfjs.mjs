/**
 * TensorFlow.js in Node for the baselines: one tfjs-core instance with the cpu and wasm
 * backends and every gradient registered, tfjs-layers, and a switch between backends.
 *
 * The wasm backend runs on one thread: tfjs hard-codes `WASM_HAS_MULTITHREAD_SUPPORT` to false
 * in Node (tfjs issue #3830), so it loads the non-threaded SIMD (XNNPACK) binary and the
 * default thread count is the same as `setThreadsCount(1)`. We set 1 explicitly for a
 * like-for-like figure and report the flags and the actual count in the summary.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// tfjs-core's Node bundle registers no gradient functions; tfjs-layers' bundle registers all of
// them in the shared global registry (as the @tensorflow/tfjs union package would).
import * as layers from '@tensorflow/tfjs-layers';

const require = createRequire(import.meta.url);
const wasmDirectory = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/';
setWasmPaths(wasmDirectory);
setThreadsCount(1);
// Production mode, as a user chasing speed would run: no debug checks, no "install tfjs-node" banner.
tf.enableProdMode();

export { layers, tf };

/** @typedef {'cpu' | 'wasm'} TfjsBackend */

/**
 * Makes `backend` the active tfjs backend. Tensors belong to the backend that was active when
 * they were created, so set the backend before creating a workload's tensors.
 * @param {TfjsBackend} backend
 */
export async function useBackend(backend) {
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs backend '${backend}' failed to initialise`);
  }
  await tf.ready();
}

/** The wasm backend's capabilities as loaded here, for the benchmark summary. */
export async function wasmInfo() {
  await useBackend('wasm');
  return {
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    multithread: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
    threads: getThreadsCount(),
    note: 'tfjs disables wasm threads in Node, so its default is this same single-threaded build',
  };
}

/**
 * A contender that runs one `trainOnBatch` of a compiled tfjs-layers `model` on `x`, `y`, and
 * disposes the model, its optimizer and the tensors.
 */
export function trainOnBatchContender(model, x, y) {
  return {
    run: () => model.trainOnBatch(x, y),
    dispose: () => {
      model.optimizer.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
