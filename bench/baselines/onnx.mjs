/**
 * ONNX Runtime Web as the inference peer: its WebAssembly backend (SIMD) on one thread, in
 * this Node process, running a model that PyTorch exported from gradlab's own weights (see
 * pytorch.mjs `exportOnnx`), on the same batch.
 */
import * as ort from 'onnxruntime-web';

// One thread: the same footing as gradlab's single-threaded predict (and tfjs-wasm here).
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** onnxruntime-web's version and settings, for notes and the summary. */
export function ortInfo() {
  return { version: ort.env.versions?.web ?? 'unknown', numThreads: ort.env.wasm.numThreads, simd: ort.env.wasm.simd ?? true };
}

/**
 * A prepared `predict` on ONNX Runtime: one `session.run` per call.
 * @param {Uint8Array} onnx model bytes with input `x` and output `y`
 * @param {{ shape: number[], data: Float32Array }} x
 * @returns {Promise<{ run: () => Promise<unknown>, output: () => Promise<Float32Array>, dispose: () => void }>}
 */
export async function makeOrtPredict(onnx, x) {
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const input = new ort.Tensor('float32', x.data, x.shape);
  const feeds = { x: input };
  const output = async () => {
    const result = await session.run(feeds);
    const data = /** @type {Float32Array} */ (result.y.data).slice();
    result.y.dispose?.();
    return data;
  };
  return {
    run: async () => {
      const result = await session.run(feeds);
      result.y.dispose?.();
    },
    output,
    dispose: () => void session.release(),
  };
}
