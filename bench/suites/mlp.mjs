/**
 * MLP training throughput (samples/s): one SGD step with softmax cross-entropy on an
 * MNIST-shaped batch, gradlab's `model.trainStep` against pure JS, tfjs-layers (cpu, wasm), a
 * hand-written tfjs-core step (wasm) and PyTorch (1 thread and all cores, same batch), in
 * alternating turns.
 *
 *   node bench/suites/mlp.mjs [--quick]
 */
import { makePureJsMlp, makeTfjsCoreMlp, makeTfjsLayersMlp } from '../baselines/mlp.mjs';
import { mnistLikeBatch } from '../baselines/random.mjs';
import { TORCH_ONE_THREAD, encode, torchContenders } from '../baselines/pytorch.mjs';
import { alternate, gradlabContender, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const LEARNING_RATE = 0.1;

// anchors: ANCHORS.md's samples/s for each baseline (another machine of this kind).

const WORKLOADS = [
  {
    group: 'MLP [784,30,30,30,30,10] sigmoid, batch 10', sizes: [784, 30, 30, 30, 30, 10], batch: 10, activation: 'sigmoid', targetPrefix: 'mlp-sigmoid',
    anchors: { 'pure JS': 5521, 'tfjs-layers cpu': 1372, 'tfjs-core wasm': 4837, 'tfjs-layers wasm': 2977 },
  },
  {
    group: 'MLP [784,256,256,10] ReLU, batch 64', sizes: [784, 256, 256, 10], batch: 64, activation: 'relu', targetPrefix: 'mlp-relu',
    anchors: { 'pure JS': 577, 'tfjs-layers cpu': 336, 'tfjs-core wasm': 1257, 'tfjs-layers wasm': 1345 },
  },
];

/**
 * The gradlab spec of a workload: dense layers with the hidden activation, logits out.
 * @param {typeof WORKLOADS[number]} workload
 */
function specOf({ sizes, activation }) {
  return {
    input: [sizes[0]],
    layers: sizes.slice(1).map((units, index) => (index < sizes.length - 2 ? { type: 'dense', units, activation } : { type: 'dense', units })),
    loss: 'softmaxCrossEntropy',
    optimizer: { type: 'sgd', lr: LEARNING_RATE },
  };
}

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const rows = [];
  const targets = [];
  for (const workload of WORKLOADS) {
    const { sizes, batch, activation } = workload;
    const { pixels, labels } = mnistLikeBatch(batch, 7);
    const x = { shape: [batch, sizes[0]], data: pixels };
    const y = { shape: [batch], data: labels };
    const settings = { activation, loss: 'softmaxCrossEntropy', learningRate: LEARNING_RATE };
    const torchWorkload = { kind: 'mlp_train', sizes, activation, batch, lr: LEARNING_RATE, x: encode(pixels), y: encode(labels) };
    const timings = await alternate(
      [
        gradlabContender(specOf(workload), (model) => model.trainStep(x, y)),
        { label: 'pure JS', prepare: () => makePureJsMlp(sizes, batch, settings) },
        { label: 'tfjs-layers cpu', prepare: () => makeTfjsLayersMlp('cpu', sizes, batch, settings) },
        { label: 'tfjs-core wasm', prepare: () => makeTfjsCoreMlp('wasm', sizes, batch, settings) },
        { label: 'tfjs-layers wasm', prepare: () => makeTfjsLayersMlp('wasm', sizes, batch, settings) },
        ...torchContenders(torchWorkload),
      ],
      // tfjs-layers needs a few hundred ms of calls before V8 has optimised it: a long warm-up.
      { rounds: options.quick ? 3 : 11, turnMs: 40, warmupMs: options.quick ? 200 : 400, group: workload.group },
    );
    const workloadRows = rowsOf(workload.group, timings, { unit: 'samples/s', work: batch, anchors: workload.anchors });
    rows.push(...workloadRows);
    targets.push(
      { id: `${workload.targetPrefix}-vs-tfjs-layers-wasm`, measured: speedupOver(workloadRows, workload.group, 'tfjs-layers wasm') },
      { id: `${workload.targetPrefix}-vs-pure-js`, measured: speedupOver(workloadRows, workload.group, 'pure JS') },
      { id: `${workload.targetPrefix}-vs-pytorch`, measured: speedupOver(workloadRows, workload.group, TORCH_ONE_THREAD) },
    );
  }
  return { suite: 'mlp', rows, targets };
}

await runIfMain(import.meta.url, run);
