/**
 * LSTM training throughput (steps/s): input 32, hidden 128, 50 steps, batch 32, the last hidden
 * state → dense(1) → MSE, one SGD step (lr 0.01); gradlab's `model.trainStep` against pure JS
 * and tfjs-layers on cpu and wasm.
 *
 *   node bench/suites/lstm.mjs [--quick]
 */
import { LSTM_BENCHMARK, lstmBatch, makePureJsLstm, makeTfjsLayersLstm } from '../baselines/lstm.mjs';
import { budget, compare, gradlabContender, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

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
  // A tfjs-cpu step takes seconds: fewer samples per round keep the suite near a minute.
  const timings = await compare(
    [
      gradlabContender(spec, (model) => model.trainStep(input, output)),
      { label: 'pure JS', prepare: () => makePureJsLstm() },
      { label: 'tfjs-layers cpu', prepare: () => makeTfjsLayersLstm('cpu') },
      { label: 'tfjs-layers wasm', prepare: () => makeTfjsLayersLstm('wasm') },
    ],
    { ...budget(options), iterations: options.quick ? 1 : 3, warmupIterations: 1 },
  );
  const rows = rowsOf(GROUP, timings, { unit: 'steps/s', anchors: { 'tfjs-layers cpu': 0.3, 'tfjs-layers wasm': 1.8 } });
  return {
    suite: 'lstm',
    rows,
    targets: [{ id: 'lstm-vs-tfjs-layers-wasm', measured: speedupOver(rows, GROUP, 'tfjs-layers wasm') }],
  };
}

await runIfMain(import.meta.url, run);
