/**
 * BatchNorm training forward + backward baselines on x [256, 1024]: hand-written pure JS and
 * tfjs (`tf.grads` of an MSE over `tf.batchNorm` with batch moments), each wrapped as a
 * prepared workload `{ run, dispose }`.
 *
 * The timed work is the same on every side: normalise with the batch's mean and biased
 * variance (BatchNorm1d training mode, eps 1e-5), scale and shift, MSE against a target, then
 * the gradients of the loss for the input, the scale (weight) and the shift (bias).
 */
import { randomArray } from './random.mjs';
import { tf, useBackend } from './tfjs.mjs';

/** @typedef {{ run: () => unknown, dispose: () => void }} Workload */

/** The benchmark's shape: 256 examples of 1024 features. */
export const BATCHNORM_BENCHMARK = { batch: 256, features: 1024 };

/** BatchNorm1d over [batch, features] in Float32Arrays, with its backward pass. */
export class PureJsBatchNorm {
  /**
   * @param {number} features
   * @param {{ eps?: number, momentum?: number }} [options]
   */
  constructor(features, { eps = 1e-5, momentum = 0.1 } = {}) {
    this.features = features;
    this.eps = eps;
    this.momentum = momentum;
    this.weight = new Float32Array(features).fill(1);
    this.bias = new Float32Array(features);
    this.runningMean = new Float32Array(features);
    this.runningVar = new Float32Array(features).fill(1);
    this.weightGradient = new Float32Array(features);
    this.biasGradient = new Float32Array(features);
    this.mean = new Float32Array(features);
    this.inverseStd = new Float32Array(features);
    this.batch = 0;
  }

  ensureBatch(batch) {
    if (batch === this.batch) return;
    this.batch = batch;
    /** x̂ = (x − μ)/σ, saved for the backward pass [batch, features] */
    this.normalized = new Float32Array(batch * this.features);
    this.output = new Float32Array(batch * this.features);
    this.outputGradient = new Float32Array(batch * this.features);
    this.inputGradient = new Float32Array(batch * this.features);
  }

  /**
   * Training-mode forward: y = weight·x̂ + bias with batch statistics; updates the running
   * statistics (unbiased variance, as PyTorch). Returns y (an internal buffer).
   * @param {Float32Array} x [batch, features]
   * @param {number} batch
   */
  forward(x, batch) {
    this.ensureBatch(batch);
    const { features, mean, inverseStd, normalized, output, weight, bias } = this;
    // Row by row with per-feature accumulators: every inner loop walks memory contiguously.
    mean.fill(0);
    for (let offset = 0; offset < x.length; offset += features) {
      for (let j = 0; j < features; j++) mean[j] += x[offset + j];
    }
    for (let j = 0; j < features; j++) mean[j] /= batch;
    const variance = inverseStd.fill(0);
    for (let offset = 0; offset < x.length; offset += features) {
      for (let j = 0; j < features; j++) {
        const centered = x[offset + j] - mean[j];
        variance[j] += centered * centered;
      }
    }
    for (let j = 0; j < features; j++) {
      const biased = variance[j] / batch;
      this.runningMean[j] = (1 - this.momentum) * this.runningMean[j] + this.momentum * mean[j];
      this.runningVar[j] = (1 - this.momentum) * this.runningVar[j] + (this.momentum * biased * batch) / Math.max(batch - 1, 1);
      inverseStd[j] = 1 / Math.sqrt(biased + this.eps);
    }
    for (let offset = 0; offset < x.length; offset += features) {
      for (let j = 0; j < features; j++) {
        const value = (x[offset + j] - mean[j]) * inverseStd[j];
        normalized[offset + j] = value;
        output[offset + j] = weight[j] * value + bias[j];
      }
    }
    return output;
  }

  /**
   * Backward from ∂loss/∂y: ∂bias = Σ ∂y, ∂weight = Σ ∂y·x̂ (into the gradient fields) and
   * ∂x = weight·invStd/N · (N·∂y − ∂bias − x̂·∂weight), returned (an internal buffer).
   * @param {Float32Array} outputGradient [batch, features]
   */
  backward(outputGradient) {
    const { features, batch, normalized, inverseStd, weight, weightGradient, biasGradient, inputGradient } = this;
    weightGradient.fill(0);
    biasGradient.fill(0);
    for (let offset = 0; offset < outputGradient.length; offset += features) {
      for (let j = 0; j < features; j++) {
        const gradient = outputGradient[offset + j];
        biasGradient[j] += gradient;
        weightGradient[j] += gradient * normalized[offset + j];
      }
    }
    for (let offset = 0; offset < outputGradient.length; offset += features) {
      for (let j = 0; j < features; j++) {
        const scale = (weight[j] * inverseStd[j]) / batch;
        inputGradient[offset + j] = scale * (batch * outputGradient[offset + j] - biasGradient[j] - normalized[offset + j] * weightGradient[j]);
      }
    }
    return inputGradient;
  }

  /**
   * MSE(y, target) (mean over all elements) and every gradient: forward then backward.
   * @param {Float32Array} x [batch, features]
   * @param {Float32Array} target [batch, features]
   * @param {number} batch
   */
  lossAndGradients(x, target, batch) {
    const output = this.forward(x, batch);
    const outputGradient = this.outputGradient;
    let loss = 0;
    for (let i = 0; i < output.length; i++) {
      const difference = output[i] - target[i];
      loss += difference * difference;
      outputGradient[i] = (2 * difference) / output.length;
    }
    this.backward(outputGradient);
    return loss / output.length;
  }
}

/** The benchmark's inputs (features with different means and scales) and targets. */
export function batchnormData({ batch, features } = BATCHNORM_BENCHMARK) {
  const x = randomArray(batch * features, 21, 2);
  for (let i = 0; i < x.length; i++) x[i] = x[i] * (1 + (i % features) / features) + ((i % 7) - 3);
  return { x, target: randomArray(batch * features, 22) };
}

/**
 * The pure-JS BatchNorm training forward + backward.
 * @param {typeof BATCHNORM_BENCHMARK} [shape]
 * @returns {Promise<Workload>}
 */
export async function makePureJsBatchNorm(shape = BATCHNORM_BENCHMARK) {
  const layer = new PureJsBatchNorm(shape.features);
  const { x, target } = batchnormData(shape);
  return { run: () => layer.lossAndGradients(x, target, shape.batch), dispose: () => {} };
}

/**
 * tfjs: gradients for x, scale and offset of `meanSquaredError(batchNorm(x, moments(x)), target)`
 * via `tf.grads`; the moments are inside the differentiated function, so the gradient flows
 * through them as in training.
 * @param {'cpu' | 'wasm'} backend
 * @param {typeof BATCHNORM_BENCHMARK} [shape]
 * @param {number} [eps]
 * @returns {Promise<Workload & { gradients: () => { loss: number, input: Float32Array, weight: Float32Array, bias: Float32Array } }>}
 */
export async function makeTfjsBatchNorm(backend, shape = BATCHNORM_BENCHMARK, eps = 1e-5) {
  await useBackend(backend);
  const { x: xData, target: targetData } = batchnormData(shape);
  const x = tf.tensor2d(xData, [shape.batch, shape.features]);
  const target = tf.tensor2d(targetData, [shape.batch, shape.features]);
  const weight = tf.ones([shape.features]);
  const bias = tf.zeros([shape.features]);
  const lossOf = (input, scale, offset) => {
    const { mean, variance } = tf.moments(input, 0);
    return tf.losses.meanSquaredError(target, tf.batchNorm(input, mean, variance, offset, scale, eps));
  };
  const valueAndGradients = tf.valueAndGrads(lossOf);
  const step = () => valueAndGradients([x, weight, bias]);
  return {
    run: () => {
      const { value, grads } = step();
      tf.dispose([value, ...grads]);
    },
    /** One step's loss and gradients as arrays, for checking against the pure-JS baseline. */
    gradients: () => {
      const { value, grads } = step();
      const result = { loss: value.dataSync()[0], input: grads[0].dataSync().slice(), weight: grads[1].dataSync().slice(), bias: grads[2].dataSync().slice() };
      tf.dispose([value, ...grads]);
      return result;
    },
    dispose: () => tf.dispose([x, target, weight, bias]),
  };
}
