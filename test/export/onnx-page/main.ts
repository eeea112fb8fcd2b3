/**
 * The ONNX export in a browser: imports gradlab (the built package) and onnxruntime-web as a
 * page would, exports every network of onnx-cases.ts, runs it in ONNX Runtime Web next to
 * gradlab's `predict`, and publishes the errors on `window.gradlabResult` for
 * onnx-browser.test.ts to read.
 */
import * as ort from 'onnxruntime-web';
import { createModel, exportOnnx } from '../../../dist/ts/index.js';
import { BATCH_SIZES, ONNX_CASES, maxError, randomInput, randomState } from '../onnx-cases.js';

export interface OnnxPageResult {
  runs: { name: string; batch: number; shape: number[]; expectedShape: number[]; error: number }[];
}

declare global {
  interface Window {
    gradlabResult?: OnnxPageResult;
    gradlabFailure?: string;
  }
}

// This page is not cross-origin isolated: ONNX Runtime runs on the page's thread.
ort.env.wasm.numThreads = 1;

async function main(): Promise<OnnxPageResult> {
  const runs: OnnxPageResult['runs'] = [];
  for (const [index, { name, spec }] of ONNX_CASES.entries()) {
    const model = await createModel(spec, { seed: index });
    try {
      model.loadStateDict(randomState(model, 100 + index));
      const session = await ort.InferenceSession.create(exportOnnx(model), { executionProviders: ['wasm'] });
      for (const batch of BATCH_SIZES) {
        const x = randomInput(model, batch, 200 + index + batch);
        const expected = model.predict(x);
        const { y } = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
        runs.push({ name, batch, shape: [...y.dims], expectedShape: expected.shape, error: maxError(y.data as Float32Array, expected.data) });
      }
      await session.release();
    } finally {
      model.dispose();
    }
  }
  return { runs };
}

main().then(
  (result) => {
    window.gradlabResult = result;
    document.getElementById('status')!.textContent = 'done';
  },
  (error: unknown) => {
    window.gradlabFailure = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  },
);
