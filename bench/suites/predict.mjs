/**
 * Inference throughput (samples/s): gradlab's `model.predict` against ONNX Runtime Web
 * (WebAssembly SIMD, one thread) and PyTorch (`inference_mode`, 1 thread) on the same weights
 * and the same batch, in alternating turns. The ONNX model is PyTorch's export
 * (`torch.onnx.export`, opset 14) of a torch module loaded with gradlab's state dict, and ONNX
 * Runtime's output is checked against gradlab's before anything is timed.
 *
 *   node bench/suites/predict.mjs [--quick]
 */
import { makeOrtPredict, ortInfo } from '../baselines/onnx.mjs';
import { TORCH_ONE_THREAD, encode, exportOnnx, torchContender, torchInfo, torchModel } from '../baselines/pytorch.mjs';
import { mnistLikeBatch, randomArray } from '../baselines/random.mjs';
import { GRADLAB, alternate, loadGradlab, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const ORT = 'onnxruntime-web';

/**
 * Dense layers with `activation` between them and logits out.
 * @param {number[]} sizes
 * @param {string} activation
 */
function mlpSpec(sizes, activation) {
  return {
    input: [sizes[0]],
    layers: sizes.slice(1).map((units, index) => (index < sizes.length - 2 ? { type: 'dense', units, activation } : { type: 'dense', units })),
    loss: 'softmaxCrossEntropy',
  };
}

const LSTM = { inputSize: 32, hidden: 128, steps: 50, output: 1 };
const lstmSpec = { input: [LSTM.steps, LSTM.inputSize], layers: [{ type: 'lstm', units: LSTM.hidden }, { type: 'dense', units: LSTM.output }], loss: 'mse' };

/** The workloads: both MLPs of the training suite and the LSTM, at small and large batches. */
function workloads() {
  const seed = { sizes: [784, 30, 30, 30, 30, 10], activation: 'sigmoid' };
  const big = { sizes: [784, 256, 256, 10], activation: 'relu' };
  const mlp = (name, { sizes, activation }, batch) => ({
    group: `predict ${name}, batch ${batch}`,
    spec: mlpSpec(sizes, activation),
    torch: { kind: 'mlp', sizes, activation },
    x: { shape: [batch, 784], data: mnistLikeBatch(batch, 31).pixels },
    batch,
  });
  const lstm = (batch) => ({
    group: `predict LSTM 32→128, T ${LSTM.steps}, batch ${batch}`,
    spec: lstmSpec,
    torch: { kind: 'lstm', ...LSTM },
    x: { shape: [batch, LSTM.steps, LSTM.inputSize], data: randomArray(batch * LSTM.steps * LSTM.inputSize, 32) },
    batch,
  });
  const all = [
    mlp('MLP [784,30,30,30,30,10] sigmoid', seed, 10),
    mlp('MLP [784,30,30,30,30,10] sigmoid', seed, 256),
    mlp('MLP [784,256,256,10] ReLU', big, 64),
    mlp('MLP [784,256,256,10] ReLU', big, 256),
    lstm(10),
    lstm(256),
  ];
  return all;
}

/** The largest |a − b| over two arrays of the same length. */
function maxDifference(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const gradlab = await loadGradlab();
  const rows = [];
  const notes = [];
  const ratios = [];
  for (const workload of workloads()) {
    const model = await gradlab.createModel(workload.spec, { seed: 1 });
    const expected = model.predict(workload.x).data;
    const description = torchModel(workload.torch, model.stateDict());
    /** @type {{ onnx: Uint8Array, y: Float32Array } | null} */
    let exported = null;
    let exportError = '';
    try {
      exported = await exportOnnx(description, workload.x);
      notes.push(`${workload.group}: PyTorch matches gradlab within ${maxDifference(exported.y, expected).toExponential(1)}`);
    } catch (error) {
      exportError = error instanceof Error ? error.message : String(error);
    }
    const contenders = [
      { label: GRADLAB, prepare: async () => ({ run: () => model.predict(workload.x) }) },
      {
        label: ORT,
        prepare: async () => {
          if (!exported) throw new Error(`no ONNX model: ${exportError}`);
          const session = await makeOrtPredict(exported.onnx, workload.x);
          const difference = maxDifference(await session.output(), expected);
          notes.push(`${workload.group}: ONNX Runtime matches gradlab within ${difference.toExponential(1)}`);
          if (!(difference < 1e-3)) throw new Error(`ONNX Runtime's output differs from gradlab's by ${difference}`);
          return session;
        },
      },
      torchContender({ kind: 'predict', model: description, shape: workload.x.shape, x: encode(workload.x.data) }),
    ];
    const timings = await alternate(contenders, { rounds: options.quick ? 3 : 11, turnMs: 30, warmupMs: options.quick ? 100 : 200, group: workload.group });
    model.dispose();
    const groupRows = rowsOf(workload.group, timings, { unit: 'samples/s', work: workload.batch });
    rows.push(...groupRows);
    ratios.push(speedupOver(groupRows, workload.group, ORT));
  }
  const torch = await torchInfo();
  const ort = ortInfo();
  return {
    suite: 'predict',
    rows,
    targets: [
      {
        id: 'predict-vs-ort',
        measured: ratios.some((ratio) => ratio == null) ? null : Math.min(...ratios),
        detail: 'smallest ratio over both MLPs and the LSTM at their batches, in alternating turns',
      },
    ],
    notes: [
      `onnxruntime-web ${ort.version}, wasm, ${ort.numThreads} thread; model exported by PyTorch from gradlab's weights`,
      torch.available ? `${TORCH_ONE_THREAD}: torch ${torch.torch}, inference_mode` : `PyTorch unavailable: ${torch.reason}`,
      ...notes,
    ],
  };
}

await runIfMain(import.meta.url, run);
