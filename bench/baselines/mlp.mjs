/**
 * MLP training-step baselines: a hand-written pure-JS Float32Array MLP (forward, manual
 * backprop, SGD), tfjs-layers `tf.sequential` + `trainOnBatch`, and a hand-written tfjs-core
 * step (`optimizer.minimize`), each wrapped as a prepared workload `{ run, dispose }`.
 *
 * Layouts follow PyTorch: weight [out, in], bias [out], activations [batch, features].
 * Hidden layers apply `activation`; the last layer emits logits and the loss applies softmax
 * (softmaxCrossEntropy: mean over the batch) or sigmoid (sigmoidCrossEntropy: summed over
 * outputs, mean over the batch — Nielsen's cost).
 */
import { matmul } from './sgemm.mjs';
import { mnistLikeBatch, randomNormalArray } from './random.mjs';
import { layers, tf, trainOnBatchContender, useBackend } from './tfjs.mjs';

/**
 * @typedef {'sigmoid' | 'relu'} HiddenActivation
 * @typedef {'softmaxCrossEntropy' | 'sigmoidCrossEntropy'} ClassificationLoss
 * @typedef {{ activation?: HiddenActivation, loss?: ClassificationLoss, learningRate?: number, seed?: number }} MlpOptions
 * @typedef {{ run: () => unknown, dispose: () => void }} Workload
 */

/**
 * output[r, j] = activation(output[r, j] + bias[j]) in place, over rows of bias.length.
 * ReLU is written branch-free: on mixed signs a branch mispredicts half the time.
 * @param {Float32Array} output
 * @param {Float32Array} bias
 * @param {HiddenActivation | 'identity'} activation
 */
function addBiasAndActivate(output, bias, activation) {
  const width = bias.length;
  for (let offset = 0; offset < output.length; offset += width) {
    for (let j = 0; j < width; j++) {
      const z = output[offset + j] + bias[j];
      output[offset + j] = activation === 'identity' ? z : activation === 'sigmoid' ? 1 / (1 + Math.exp(-z)) : (z + Math.abs(z)) * 0.5;
    }
  }
}

/**
 * delta ⊙= activation'(z), written in terms of the activation's output a = activation(z):
 * σ' = a(1 − a), relu' = [a > 0].
 * @param {Float32Array} delta
 * @param {Float32Array} activated
 * @param {HiddenActivation} activation
 */
function multiplyByDerivative(delta, activated, activation) {
  if (activation === 'sigmoid') {
    for (let i = 0; i < delta.length; i++) delta[i] *= activated[i] * (1 - activated[i]);
  } else {
    for (let i = 0; i < delta.length; i++) delta[i] = activated[i] > 0 ? delta[i] : 0;
  }
}

/** A fully connected network trained by plain SGD, all in Float32Arrays. */
export class PureJsMlp {
  /**
   * @param {number[]} sizes layer widths, input first: [784, 30, 10] is one hidden layer
   * @param {MlpOptions} [options]
   */
  constructor(sizes, { activation = 'sigmoid', loss = 'softmaxCrossEntropy', learningRate = 0.1, seed = 1 } = {}) {
    this.sizes = sizes;
    this.activation = activation;
    this.lossKind = loss;
    this.learningRate = learningRate;
    this.layerCount = sizes.length - 1;
    /** @type {Float32Array[]} [out, in] per layer, std 1/√in (sigmoid) or √(2/in) (He, relu) */
    this.weights = [];
    /** @type {Float32Array[]} [out] per layer, zero */
    this.biases = [];
    for (let layer = 0; layer < this.layerCount; layer++) {
      const fanIn = sizes[layer];
      const std = activation === 'relu' ? Math.sqrt(2 / fanIn) : 1 / Math.sqrt(fanIn);
      this.weights.push(randomNormalArray(sizes[layer + 1] * fanIn, seed + layer, std));
      this.biases.push(new Float32Array(sizes[layer + 1]));
    }
    this.weightGradients = this.weights.map((weight) => new Float32Array(weight.length));
    this.biasGradients = this.biases.map((bias) => new Float32Array(bias.length));
    this.batch = 0;
  }

  /** (Re)allocates the per-batch buffers when the batch size changes. */
  ensureBatch(batch) {
    if (batch === this.batch) return;
    this.batch = batch;
    /** @type {Float32Array[]} layer outputs [batch, out]: activations, and logits for the last */
    this.outputs = this.sizes.slice(1).map((size) => new Float32Array(batch * size));
    /** @type {Float32Array[]} ∂loss/∂(pre-activation) of each layer, [batch, out] */
    this.deltas = this.sizes.slice(1).map((size) => new Float32Array(batch * size));
  }

  /**
   * Forward pass; returns the logits [batch, out] (an internal buffer).
   * @param {Float32Array} x [batch, in]
   * @param {number} batch
   */
  forward(x, batch) {
    this.ensureBatch(batch);
    let input = x;
    for (let layer = 0; layer < this.layerCount; layer++) {
      const fanIn = this.sizes[layer];
      const fanOut = this.sizes[layer + 1];
      const output = this.outputs[layer];
      matmul(input, this.weights[layer], output, batch, fanIn, fanOut, { transposeB: true });
      addBiasAndActivate(output, this.biases[layer], layer < this.layerCount - 1 ? this.activation : 'identity');
      input = output;
    }
    return this.outputs[this.layerCount - 1];
  }

  /**
   * Writes ∂loss/∂logits into the last delta buffer and returns the loss.
   * @param {Int32Array} labels [batch] class indices
   * @param {number} batch
   */
  lossAndLogitGradient(labels, batch) {
    const classes = this.sizes[this.layerCount];
    const logits = this.outputs[this.layerCount - 1];
    const delta = this.deltas[this.layerCount - 1];
    let loss = 0;
    for (let row = 0; row < batch; row++) {
      const offset = row * classes;
      const label = labels[row];
      if (this.lossKind === 'softmaxCrossEntropy') {
        let max = -Infinity;
        for (let j = 0; j < classes; j++) max = Math.max(max, logits[offset + j]);
        let sum = 0;
        for (let j = 0; j < classes; j++) sum += Math.exp(logits[offset + j] - max);
        loss += Math.log(sum) + max - logits[offset + label];
        for (let j = 0; j < classes; j++) {
          delta[offset + j] = (Math.exp(logits[offset + j] - max) / sum - (j === label ? 1 : 0)) / batch;
        }
      } else {
        for (let j = 0; j < classes; j++) {
          const z = logits[offset + j];
          const target = j === label ? 1 : 0;
          // Stable −[t·log σ(z) + (1−t)·log(1−σ(z))] = max(z,0) − z·t + log(1 + e^−|z|).
          loss += Math.max(z, 0) - z * target + Math.log1p(Math.exp(-Math.abs(z)));
          delta[offset + j] = (1 / (1 + Math.exp(-z)) - target) / batch;
        }
      }
    }
    return loss / batch;
  }

  /**
   * Loss and gradients of every parameter (into `weightGradients` / `biasGradients`).
   * @param {Float32Array} x [batch, in]
   * @param {Int32Array} labels [batch]
   * @param {number} batch
   */
  gradients(x, labels, batch) {
    this.forward(x, batch);
    const loss = this.lossAndLogitGradient(labels, batch);
    for (let layer = this.layerCount - 1; layer >= 0; layer--) {
      const fanIn = this.sizes[layer];
      const fanOut = this.sizes[layer + 1];
      const delta = this.deltas[layer];
      const input = layer === 0 ? x : this.outputs[layer - 1];
      // ∂W = δᵀ·input [out, in]; ∂b = Σ_rows δ.
      matmul(delta, input, this.weightGradients[layer], fanOut, batch, fanIn, { transposeA: true });
      const biasGradient = this.biasGradients[layer].fill(0);
      for (let row = 0; row < batch; row++) {
        for (let j = 0; j < fanOut; j++) biasGradient[j] += delta[row * fanOut + j];
      }
      if (layer === 0) break;
      // δ of the layer below = (δ·W) ⊙ activation'(its output).
      const below = this.deltas[layer - 1];
      matmul(delta, this.weights[layer], below, batch, fanOut, fanIn);
      multiplyByDerivative(below, input, this.activation);
    }
    return loss;
  }

  /**
   * One SGD step on a batch; returns the loss before the update.
   * @param {Float32Array} x [batch, in]
   * @param {Int32Array} labels [batch]
   * @param {number} batch
   */
  trainStep(x, labels, batch) {
    const loss = this.gradients(x, labels, batch);
    const rate = this.learningRate;
    for (let layer = 0; layer < this.layerCount; layer++) {
      const weight = this.weights[layer];
      const weightGradient = this.weightGradients[layer];
      for (let i = 0; i < weight.length; i++) weight[i] -= rate * weightGradient[i];
      const bias = this.biases[layer];
      const biasGradient = this.biasGradients[layer];
      for (let i = 0; i < bias.length; i++) bias[i] -= rate * biasGradient[i];
    }
    return loss;
  }
}

/**
 * The pure-JS MLP training step on one fixed MNIST-like batch.
 * @param {number[]} sizes
 * @param {number} batch
 * @param {MlpOptions} [options]
 * @returns {Promise<Workload>}
 */
export async function makePureJsMlp(sizes, batch, options = {}) {
  const model = new PureJsMlp(sizes, options);
  const { pixels, labels } = mnistLikeBatch(batch, 7);
  return { run: () => model.trainStep(pixels, labels, batch), dispose: () => {} };
}

/** One-hot float targets [batch, classes] for tfjs losses. */
function oneHot(labels, classes) {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((label, row) => { out[row * classes + label] = 1; });
  return out;
}

/**
 * tfjs-layers: `tf.sequential` of dense layers, compiled with SGD, one `trainOnBatch` per run.
 * softmaxCrossEntropy maps to a softmax output + categoricalCrossentropy, sigmoidCrossEntropy
 * to a sigmoid output + binaryCrossentropy (tfjs averages over outputs too: a constant scale).
 * @param {'cpu' | 'wasm'} backend
 * @param {number[]} sizes
 * @param {number} batch
 * @param {MlpOptions} [options]
 * @returns {Promise<Workload>}
 */
export async function makeTfjsLayersMlp(backend, sizes, batch, { activation = 'sigmoid', loss = 'softmaxCrossEntropy', learningRate = 0.1 } = {}) {
  await useBackend(backend);
  const classes = sizes[sizes.length - 1];
  const model = layers.sequential();
  for (let layer = 1; layer < sizes.length; layer++) {
    const last = layer === sizes.length - 1;
    model.add(layers.layers.dense({
      units: sizes[layer],
      activation: !last ? activation : loss === 'softmaxCrossEntropy' ? 'softmax' : 'sigmoid',
      ...(layer === 1 ? { inputShape: [sizes[0]] } : {}),
    }));
  }
  model.compile({
    optimizer: tf.train.sgd(learningRate),
    loss: loss === 'softmaxCrossEntropy' ? 'categoricalCrossentropy' : 'binaryCrossentropy',
  });
  const { pixels, labels } = mnistLikeBatch(batch, 7);
  const x = tf.tensor2d(pixels, [batch, sizes[0]]);
  const y = tf.tensor2d(oneHot(labels, classes), [batch, classes]);
  return trainOnBatchContender(model, x, y);
}

/**
 * tfjs-core by hand: weight variables [in, out], a loss closure, `optimizer.minimize` — the
 * leanest tfjs training step (no layers bookkeeping).
 * @param {'cpu' | 'wasm'} backend
 * @param {number[]} sizes
 * @param {number} batch
 * @param {MlpOptions} [options]
 * @returns {Promise<Workload>}
 */
export async function makeTfjsCoreMlp(backend, sizes, batch, { activation = 'sigmoid', loss = 'softmaxCrossEntropy', learningRate = 0.1, seed = 1 } = {}) {
  await useBackend(backend);
  const classes = sizes[sizes.length - 1];
  const weights = [];
  const biases = [];
  for (let layer = 0; layer + 1 < sizes.length; layer++) {
    const std = activation === 'relu' ? Math.sqrt(2 / sizes[layer]) : 1 / Math.sqrt(sizes[layer]);
    weights.push(tf.variable(tf.tensor2d(randomNormalArray(sizes[layer] * sizes[layer + 1], seed + layer, std), [sizes[layer], sizes[layer + 1]])));
    biases.push(tf.variable(tf.zeros([sizes[layer + 1]])));
  }
  const optimizer = tf.train.sgd(learningRate);
  const { pixels, labels } = mnistLikeBatch(batch, 7);
  const x = tf.tensor2d(pixels, [batch, sizes[0]]);
  const y = tf.tensor2d(oneHot(labels, classes), [batch, classes]);
  const hidden = activation === 'sigmoid' ? tf.sigmoid : tf.relu;
  const lossOf = () => {
    let output = x;
    weights.forEach((weight, layer) => {
      const z = tf.add(tf.matMul(output, weight), biases[layer]);
      output = layer < weights.length - 1 ? hidden(z) : z;
    });
    return loss === 'softmaxCrossEntropy'
      ? tf.losses.softmaxCrossEntropy(y, output)
      : tf.mul(tf.losses.sigmoidCrossEntropy(y, output), classes);
  };
  return {
    run: () => tf.dispose(optimizer.minimize(lossOf, true)),
    dispose: () => {
      tf.dispose([...weights, ...biases, x, y]);
      optimizer.dispose();
    },
  };
}
