/**
 * BatchNorm training forward + backward on x [256, 1024] (ms): MSE over BatchNorm1d with batch
 * statistics and the gradients for x, weight and bias; gradlab's `model.gradients` against
 * pure JS, tfjs (`tf.valueAndGrads`) on cpu and wasm, and PyTorch (BatchNorm1d, MSELoss,
 * backward; 1 thread and all cores) on the same data, in alternating turns.
 *
 * gradlab skips ∂x for its first layer (the input is no parameter), which would spare it the
 * costliest part of the backward pass. So its model puts an identity activation first: the
 * BatchNorm then computes ∂x like the baselines, and gradlab does two extra copies on top.
 *
 *   node bench/suites/batchnorm.mjs [--quick]
 */
import { BATCHNORM_BENCHMARK, batchnormData, makePureJsBatchNorm, makeTfjsBatchNorm } from '../baselines/batchnorm.mjs';
import { TORCH_ONE_THREAD, encode, torchContenders } from '../baselines/pytorch.mjs';
import { alternate, gradlabContender, rowsOf, runIfMain, speedupOver } from '../harness.mjs';

const GROUP = 'BatchNorm train fwd+bwd [256×1024]';

/** @param {import('../harness.mjs').RunOptions} options */
export async function run(options) {
  const { batch, features } = BATCHNORM_BENCHMARK;
  const { x, target } = batchnormData(BATCHNORM_BENCHMARK);
  const spec = { input: [features], layers: [{ type: 'activation', activation: 'identity' }, { type: 'batchnorm' }], loss: 'mse' };
  const input = { shape: [batch, features], data: x };
  const output = { shape: [batch, features], data: target };
  const timings = await alternate(
    [
      gradlabContender(spec, (model) => model.gradients(input, output)),
      { label: 'pure JS', prepare: () => makePureJsBatchNorm() },
      { label: 'tfjs cpu', prepare: () => makeTfjsBatchNorm('cpu') },
      { label: 'tfjs wasm', prepare: () => makeTfjsBatchNorm('wasm') },
      ...torchContenders({ kind: 'batchnorm_train', batch, features, x: encode(x), target: encode(target) }),
    ],
    { rounds: options.quick ? 3 : 15, turnMs: 40, warmupMs: 300, group: GROUP },
  );
  const rows = rowsOf(GROUP, timings, { unit: 'ms', anchors: { 'pure JS': 8.8, 'tfjs cpu': 447, 'tfjs wasm': 46.9 } });
  return {
    suite: 'batchnorm',
    rows,
    targets: [
      { id: 'batchnorm-vs-pure-js', measured: speedupOver(rows, GROUP, 'pure JS') },
      { id: 'batchnorm-vs-tfjs-wasm', measured: speedupOver(rows, GROUP, 'tfjs wasm') },
      { id: 'batchnorm-vs-pytorch', measured: speedupOver(rows, GROUP, TORCH_ONE_THREAD) },
    ],
    notes: ['gradlab runs [identity, batchnorm] so that the BatchNorm computes ∂x, as the baselines do'],
  };
}

await runIfMain(import.meta.url, run);
