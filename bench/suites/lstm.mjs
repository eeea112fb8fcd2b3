/**
 * LSTM training throughput (steps/s): input 32, hidden 128, 50 steps, batch 32, the last hidden
 * state → dense(1) → MSE, one SGD step (lr 0.01); gradlab's `model.trainStep` against pure JS,
 * tfjs-layers on cpu and wasm, and PyTorch (nn.LSTM batch-first, 1 thread and all cores) on the
 * same data, in alternating turns.
 *
 *   node bench/suites/lstm.mjs [--quick]
 */
import { LSTM_BENCHMARK, lstmBatch, makePureJsLstm, makeTfjsLayersLstm } from '../baselines/lstm.mjs';
import { TORCH_ONE_THREAD, encode, torchContenders } from '../baselines/pytorch.mjs';
import { alternate, gradlabContender, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const GROUP = 'LSTM in 32, hidden 128, T 50, batch 32';

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const { inputSize, hiddenSize, steps, batch, outputSize } = LSTM_BENCHMARK;
  const { x, target } = lstmBatch(LSTM_BENCHMARK);
  const spec = {
    input: [steps, inputSize],
    layers: [{ type: 'lstm', units: hiddenSize }, { type: 'dense', units: outputSize }],
    loss: 'mse',
    optimizer: { type: 'sgd', lr: 0.01 },
  };
  const input = { shape: [batch, steps, inputSize], data: x };
  const output = { shape: [batch, outputSize], data: target };
  // A tfjs-cpu step takes a second and pure JS half of one: those run once per turn.
  const torchWorkload = { kind: 'lstm_train', inputSize, hidden: hiddenSize, steps, batch, output: outputSize, lr: 0.01, x: encode(x), target: encode(target) };
  const timings = await alternate(
    [
      gradlabContender(spec, (model) => model.trainStep(input, output)),
      { label: 'pure JS', prepare: () => makePureJsLstm() },
      { label: 'tfjs-layers cpu', prepare: () => makeTfjsLayersLstm('cpu') },
      { label: 'tfjs-layers wasm', prepare: () => makeTfjsLayersLstm('wasm') },
      ...torchContenders(torchWorkload),
    ],
    { rounds: options.quick ? 2 : 5, turnMs: 60, warmupMs: 300, group: GROUP },
  );
  const rows = rowsOf(GROUP, timings, { unit: 'steps/s', anchors: { 'tfjs-layers cpu': 0.3, 'tfjs-layers wasm': 1.8 } });
  return {
    suite: 'lstm',
    rows,
    targets: [
      { id: 'lstm-vs-tfjs-layers-wasm', measured: speedupOver(rows, GROUP, 'tfjs-layers wasm') },
      { id: 'lstm-vs-pytorch', measured: speedupOver(rows, GROUP, TORCH_ONE_THREAD) },
    ],
  };
}

await runIfMain(import.meta.url, run);
