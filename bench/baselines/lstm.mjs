/**
 * LSTM training-step baselines: a hand-written pure-JS LSTM (forward, backpropagation through
 * time, SGD) and tfjs-layers' LSTM with `trainOnBatch` — both as sequence → LSTM → last hidden
 * state → dense → MSE, each wrapped as a prepared workload `{ run, dispose }`.
 *
 * Layouts follow PyTorch: weight_ih [4H, I], weight_hh [4H, H], bias_ih and bias_hh [4H] with
 * gate order i, f, g, o; inputs are batch-first [batch, time, features].
 */
import { matmul } from './sgemm.mjs';
import { randomArray } from './random.mjs';
import { layers, tf, trainOnBatchContender, useBackend } from './tfjs.mjs';

/**
 * @typedef {{ inputSize: number, hiddenSize: number, outputSize: number, learningRate?: number, seed?: number }} LstmOptions
 * @typedef {{ run: () => unknown, dispose: () => void }} Workload
 */

/** The benchmark's shape: input 32, hidden 128, 50 steps, batch 32, one output. */
export const LSTM_BENCHMARK = { inputSize: 32, hiddenSize: 128, steps: 50, batch: 32, outputSize: 1 };

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** One LSTM layer followed by a dense layer on its last hidden state, trained with MSE and SGD. */
export class PureJsLstm {
  /** @param {LstmOptions} options */
  constructor({ inputSize, hiddenSize, outputSize, learningRate = 0.01, seed = 1 }) {
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.outputSize = outputSize;
    this.learningRate = learningRate;
    // PyTorch's default: every parameter uniform in ±1/√H.
    const bound = 1 / Math.sqrt(hiddenSize);
    const gates = 4 * hiddenSize;
    /** Parameters by PyTorch name; `gradients` holds the same names. */
    this.parameters = {
      weightIh: randomArray(gates * inputSize, seed, bound),
      weightHh: randomArray(gates * hiddenSize, seed + 1, bound),
      biasIh: randomArray(gates, seed + 2, bound),
      biasHh: randomArray(gates, seed + 3, bound),
      denseWeight: randomArray(outputSize * hiddenSize, seed + 4, bound),
      denseBias: randomArray(outputSize, seed + 5, bound),
    };
    this.gradients = Object.fromEntries(Object.entries(this.parameters).map(([name, value]) => [name, new Float32Array(value.length)]));
    this.shape = '';
  }

  /** (Re)allocates the buffers the forward pass saves for the backward pass. */
  ensureShape(batch, steps) {
    const shape = `${batch}x${steps}`;
    if (shape === this.shape) return;
    this.shape = shape;
    const { inputSize, hiddenSize, outputSize } = this;
    /** inputs time-major [T·B, I], so each step's rows are contiguous */
    this.inputs = new Float32Array(steps * batch * inputSize);
    /** activated gates i, f, g, o per step, time-major [T·B, 4H]; reused for their gradients */
    this.gates = new Float32Array(steps * batch * 4 * hiddenSize);
    this.gateGradients = new Float32Array(steps * batch * 4 * hiddenSize);
    /** hidden and cell states h_0…h_T, c_0…c_T as [(T+1)·B, H]; h_0 = c_0 = 0 */
    this.hidden = new Float32Array((steps + 1) * batch * hiddenSize);
    this.cells = new Float32Array((steps + 1) * batch * hiddenSize);
    /** tanh(c_t) for t = 1…T, [T·B, H] */
    this.cellTanh = new Float32Array(steps * batch * hiddenSize);
    this.recurrent = new Float32Array(batch * 4 * hiddenSize);
    this.output = new Float32Array(batch * outputSize);
    this.outputGradient = new Float32Array(batch * outputSize);
    this.hiddenGradient = new Float32Array(batch * hiddenSize);
    this.cellGradient = new Float32Array(batch * hiddenSize);
  }

  /**
   * Forward pass; returns the dense output [batch, outputSize] (an internal buffer).
   * @param {Float32Array} x [batch, steps, inputSize]
   * @param {number} batch
   * @param {number} steps
   */
  forward(x, batch, steps) {
    this.ensureShape(batch, steps);
    const { inputSize, hiddenSize, outputSize, parameters } = this;
    const gateWidth = 4 * hiddenSize;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < steps; t++) {
        this.inputs.set(x.subarray((b * steps + t) * inputSize, (b * steps + t + 1) * inputSize), (t * batch + b) * inputSize);
      }
    }
    // The input projection of every step at once: one large matmul instead of T small ones.
    matmul(this.inputs, parameters.weightIh, this.gates, steps * batch, inputSize, gateWidth, { transposeB: true });
    const stateSize = batch * hiddenSize;
    const bias = new Float32Array(gateWidth);
    for (let i = 0; i < gateWidth; i++) bias[i] = parameters.biasIh[i] + parameters.biasHh[i];
    const { recurrent, cells, cellTanh, hidden } = this;
    for (let t = 0; t < steps; t++) {
      matmul(hidden.subarray(t * stateSize, (t + 1) * stateSize), parameters.weightHh, recurrent, batch, hiddenSize, gateWidth, { transposeB: true });
      const gates = this.gates.subarray(t * batch * gateWidth, (t + 1) * batch * gateWidth);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < hiddenSize; j++) {
          // Offsets of gate i's unit j in this row; f, g, o follow at +H, +2H, +3H.
          const at = b * gateWidth + j;
          const input = sigmoid(gates[at] + recurrent[at] + bias[j]);
          const forget = sigmoid(gates[at + hiddenSize] + recurrent[at + hiddenSize] + bias[j + hiddenSize]);
          const candidate = Math.tanh(gates[at + 2 * hiddenSize] + recurrent[at + 2 * hiddenSize] + bias[j + 2 * hiddenSize]);
          const out = sigmoid(gates[at + 3 * hiddenSize] + recurrent[at + 3 * hiddenSize] + bias[j + 3 * hiddenSize]);
          gates[at] = input;
          gates[at + hiddenSize] = forget;
          gates[at + 2 * hiddenSize] = candidate;
          gates[at + 3 * hiddenSize] = out;
          const state = t * stateSize + b * hiddenSize + j;
          const cell = forget * cells[state] + input * candidate;
          cells[state + stateSize] = cell;
          cellTanh[state] = Math.tanh(cell);
          hidden[state + stateSize] = out * cellTanh[state];
        }
      }
    }
    const last = this.hidden.subarray(steps * stateSize, (steps + 1) * stateSize);
    matmul(last, parameters.denseWeight, this.output, batch, hiddenSize, outputSize, { transposeB: true });
    for (let i = 0; i < this.output.length; i++) this.output[i] += parameters.denseBias[i % outputSize];
    return this.output;
  }

  /**
   * MSE loss (mean over all outputs, as PyTorch's MSELoss) and the gradient of every parameter
   * into `gradients`.
   * @param {Float32Array} x [batch, steps, inputSize]
   * @param {Float32Array} target [batch, outputSize]
   * @param {number} batch
   * @param {number} steps
   */
  lossAndGradients(x, target, batch, steps) {
    const output = this.forward(x, batch, steps);
    const { inputSize, hiddenSize, outputSize, parameters, gradients } = this;
    const gateWidth = 4 * hiddenSize;
    const stateSize = batch * hiddenSize;
    let loss = 0;
    for (let i = 0; i < output.length; i++) {
      const difference = output[i] - target[i];
      loss += difference * difference;
      this.outputGradient[i] = (2 * difference) / output.length;
    }
    loss /= output.length;

    // Dense layer: ∂W = ∂yᵀ·h_T, ∂b = Σ_rows ∂y, ∂h_T = ∂y·W.
    const last = this.hidden.subarray(steps * stateSize, (steps + 1) * stateSize);
    matmul(this.outputGradient, last, gradients.denseWeight, outputSize, batch, hiddenSize, { transposeA: true });
    sumRows(this.outputGradient, gradients.denseBias);
    matmul(this.outputGradient, parameters.denseWeight, this.hiddenGradient, batch, outputSize, hiddenSize);
    this.cellGradient.fill(0);

    const { cells, cellTanh, hiddenGradient, cellGradient: cellGradients } = this;
    for (let t = steps - 1; t >= 0; t--) {
      const gates = this.gates.subarray(t * batch * gateWidth, (t + 1) * batch * gateWidth);
      const gateGradients = this.gateGradients.subarray(t * batch * gateWidth, (t + 1) * batch * gateWidth);
      for (let b = 0; b < batch; b++) {
        for (let j = 0; j < hiddenSize; j++) {
          const at = b * gateWidth + j;
          const input = gates[at];
          const forget = gates[at + hiddenSize];
          const candidate = gates[at + 2 * hiddenSize];
          const out = gates[at + 3 * hiddenSize];
          const unit = b * hiddenSize + j;
          const state = t * stateSize + unit;
          const tanhCell = cellTanh[state];
          // h = o·tanh(c), c = f·c₋₁ + i·g: ∂c collects the path through h and the path from c₊₁.
          const cellGradient = cellGradients[unit] + hiddenGradient[unit] * out * (1 - tanhCell * tanhCell);
          gateGradients[at] = cellGradient * candidate * input * (1 - input);
          gateGradients[at + hiddenSize] = cellGradient * cells[state] * forget * (1 - forget);
          gateGradients[at + 2 * hiddenSize] = cellGradient * input * (1 - candidate * candidate);
          gateGradients[at + 3 * hiddenSize] = hiddenGradient[unit] * tanhCell * out * (1 - out);
          cellGradients[unit] = cellGradient * forget;
        }
      }
      // ∂h₋₁ = ∂gates·W_hh
      matmul(gateGradients, parameters.weightHh, this.hiddenGradient, batch, gateWidth, hiddenSize);
    }
    // Weight gradients over all steps at once: ∂W_ih = ∂gatesᵀ·x, ∂W_hh = ∂gatesᵀ·h₋₁ (h_0…h_T−1).
    const rows = steps * batch;
    matmul(this.gateGradients, this.inputs, gradients.weightIh, gateWidth, rows, inputSize, { transposeA: true });
    matmul(this.gateGradients, this.hidden.subarray(0, rows * hiddenSize), gradients.weightHh, gateWidth, rows, hiddenSize, { transposeA: true });
    sumRows(this.gateGradients, gradients.biasIh);
    gradients.biasHh.set(gradients.biasIh);
    return loss;
  }

  /**
   * One SGD step; returns the loss before the update.
   * @param {Float32Array} x [batch, steps, inputSize]
   * @param {Float32Array} target [batch, outputSize]
   * @param {number} batch
   * @param {number} steps
   */
  trainStep(x, target, batch, steps) {
    const loss = this.lossAndGradients(x, target, batch, steps);
    for (const [name, parameter] of Object.entries(this.parameters)) {
      const gradient = this.gradients[name];
      for (let i = 0; i < parameter.length; i++) parameter[i] -= this.learningRate * gradient[i];
    }
    return loss;
  }
}

/**
 * out[j] = Σ_r matrix[r, j] over rows of out.length.
 * @param {Float32Array} matrix
 * @param {Float32Array} out
 */
function sumRows(matrix, out) {
  out.fill(0);
  const width = out.length;
  for (let offset = 0; offset < matrix.length; offset += width) {
    for (let j = 0; j < width; j++) out[j] += matrix[offset + j];
  }
}

/** The benchmark's inputs [batch, steps, input] in [-1, 1) and targets [batch, outputs]. */
export function lstmBatch({ inputSize, steps, batch, outputSize }) {
  return { x: randomArray(batch * steps * inputSize, 11), target: randomArray(batch * outputSize, 12) };
}

/**
 * The pure-JS LSTM training step on one fixed batch.
 * @param {typeof LSTM_BENCHMARK} [shape]
 * @returns {Promise<Workload>}
 */
export async function makePureJsLstm(shape = LSTM_BENCHMARK) {
  const model = new PureJsLstm({ ...shape, learningRate: 0.01 });
  const { x, target } = lstmBatch(shape);
  return { run: () => model.trainStep(x, target, shape.batch, shape.steps), dispose: () => {} };
}

/**
 * tfjs-layers: `lstm` (sigmoid recurrent activation, as PyTorch — tfjs defaults to hard
 * sigmoid) then `dense`, compiled with SGD 0.01 and MSE; one `trainOnBatch` per run.
 * The recurrent kernel starts glorot-uniform: tfjs's default orthogonal initializer fails on
 * the wasm backend (`rMat.flatten is not a function`) and initialisation is not timed anyway.
 * @param {'cpu' | 'wasm'} backend
 * @param {typeof LSTM_BENCHMARK} [shape]
 * @returns {Promise<Workload>}
 */
export async function makeTfjsLayersLstm(backend, shape = LSTM_BENCHMARK) {
  await useBackend(backend);
  const model = layers.sequential({
    layers: [
      layers.layers.lstm({ units: shape.hiddenSize, recurrentActivation: 'sigmoid', recurrentInitializer: 'glorotUniform', inputShape: [shape.steps, shape.inputSize] }),
      layers.layers.dense({ units: shape.outputSize }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
  const { x, target } = lstmBatch(shape);
  const inputs = tf.tensor3d(x, [shape.batch, shape.steps, shape.inputSize]);
  const targets = tf.tensor2d(target, [shape.batch, shape.outputSize]);
  return trainOnBatchContender(model, inputs, targets);
}
