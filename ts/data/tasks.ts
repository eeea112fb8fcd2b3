/**
 * Long-range sequence tasks for recurrent nets, generated inside WASM from a seed so Node and
 * browsers produce the same data (`gradlab_core::tasks`, which also checks the sizes). Both
 * hide what the target needs far from the last step, where a recurrent layer without
 * `returnSequences` is read.
 *
 * ```ts
 * const train = await addingProblem({ length: 50, count: 4096, seed: 1 });
 * const test = await addingProblem({ length: 50, count: 1000, seed: 2 });
 * const model = await createModel({ input: [50, 2], layers: [{ type: 'lstm', units: 32, forgetBias: 1 }, { type: 'dense', units: 1 }], loss: 'mse', optimizer: { type: 'adam', lr: 3e-3 }, clip: { norm: 1 } });
 * model.trainStep(train.x, train.y);
 * addingAccuracy(model.predict(test.x), test.y); // share within 0.04
 * ```
 */
import { describe, invalidArgument, shapeMismatch, shapeString, numberArg } from '../runtime/errors.js';
import type { Labels, TensorData, TensorLike } from '../model/types.js';
import { init } from '../runtime/wasm.js';
import type { Task } from '../../pkg/gradlab.js';

export interface AddingProblemOptions {
  /** T, the number of time steps (≥ 2). */
  length: number;
  /** How many sequences. */
  count: number;
  /** Seed of the generator (default 0). */
  seed?: number;
}

export interface FirstSymbolOptions {
  /** T, the number of time steps (≥ 1). */
  length: number;
  /** How many sequences. */
  count: number;
  /** How many symbols (default 4; chance accuracy is 1/classes). */
  classes?: number;
  /** Seed of the generator (default 0). */
  seed?: number;
}

/** Sequences `x` [count, T, features] with float targets `y`. */
export interface RegressionTask {
  x: TensorData;
  y: TensorData;
}

/** Sequences `x` [count, T, features] with class labels `y` [count]. */
export interface ClassificationTask {
  x: TensorData;
  y: Labels;
}

/** The arrays of `task`, moved out of WASM memory; the task is freed. */
function taken<T>(task: Task, take: (task: Task) => T): T {
  try {
    return take(task);
  } finally {
    task.free();
  }
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997, experiment 4; the variant of Le, Jaitly
 * & Hinton 2015 and Arjovsky et al. 2016). Each step of `x` [count, T, 2] is `[value, marker]`
 * with value ~ U[0, 1); exactly two markers are 1, one at a uniformly drawn step of the first
 * half [0, ⌊T/2⌋) and one in the second half [⌊T/2⌋, T). The target `y` [count, 1] is the sum
 * of the two marked values, in [0, 2): predicting 1 always scores an MSE of 1/6.
 */
export async function addingProblem(options: AddingProblemOptions): Promise<RegressionTask> {
  const op = 'addingProblem';
  if (typeof options !== 'object' || options === null) invalidArgument(op, 'options', '{ length, count, seed? }', describe(options));
  const length = numberArg(op, 'length', options.length);
  const count = numberArg(op, 'count', options.count);
  const seed = numberArg(op, 'seed', options.seed ?? 0);
  const core = await init();
  const task = core.call((b) => b.addingProblem(length, count, seed));
  return taken(task, (t) => ({ x: { shape: [count, length, 2], data: t.takeX() }, y: { shape: [count, 1], data: t.takeY() } }));
}

/**
 * "Remember the first symbol": `x` [count, T, classes] holds one-hot symbols drawn uniformly
 * and independently at every step; the label `y` [count] is the class of the first one, so
 * the answer must be carried across T − 1 distractors (use `softmaxCrossEntropy`).
 */
export async function firstSymbolTask(options: FirstSymbolOptions): Promise<ClassificationTask> {
  const op = 'firstSymbolTask';
  if (typeof options !== 'object' || options === null) invalidArgument(op, 'options', '{ length, count, classes?, seed? }', describe(options));
  const length = numberArg(op, 'length', options.length);
  const count = numberArg(op, 'count', options.count);
  const classes = numberArg(op, 'classes', options.classes ?? 4);
  const seed = numberArg(op, 'seed', options.seed ?? 0);
  const core = await init();
  const task = core.call((b) => b.firstSymbolTask(length, count, classes, seed));
  return taken(task, (t) => ({ x: { shape: [count, length, classes], data: t.takeX() }, y: { shape: [count], data: t.takeLabels() } }));
}

/**
 * The share of predictions within `tolerance` of their targets (default 0.04, the criterion
 * Hochreiter & Schmidhuber used for the adding problem). Both tensors must have the same size.
 */
export function addingAccuracy(predicted: TensorLike, target: TensorLike, tolerance = 0.04): number {
  const op = 'addingAccuracy';
  if (predicted.data.length !== target.data.length) {
    shapeMismatch(op, 'predicted', `${target.data.length} values (target ${shapeString(target.shape)})`, `${predicted.data.length} values (${shapeString(predicted.shape)})`);
  }
  if (!(tolerance >= 0)) invalidArgument(op, 'tolerance', 'a number ≥ 0', describe(tolerance));
  let within = 0;
  for (let i = 0; i < target.data.length; i++) {
    if (Math.abs(predicted.data[i] - target.data[i]) <= tolerance) within++;
  }
  return target.data.length === 0 ? 0 : within / target.data.length;
}
