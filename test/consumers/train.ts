/**
 * What every consumer project runs against the installed package: the same small network
 * trained for a few steps in-thread (`createModel`) and in a worker (`createTrainer`), from the
 * same seed on the same data, so the losses must match each other and Node's exactly.
 *
 * Written once in TypeScript: the TypeScript projects type-check it against the package's
 * declarations; the JavaScript ones get it transpiled (run.mjs). It uses neither DOM nor Node
 * types, so it compiles in a project that has only one of them.
 */
import type * as Gradlab from 'gradlab';

/** What a consumer project reports. */
export interface ConsumerResult {
  inThread: number[];
  worker: number[];
  simd: boolean;
  runtime: string;
}

/** Compiles only while the worker handle's type is a real type: skipLibCheck once made it `any`. */
type IsAny<T> = 0 extends 1 & T ? true : false;
export const workerHandleIsTyped: IsAny<Gradlab.TrainerWorkerHandle> = false;

const SPEC: Gradlab.ModelSpec = {
  input: [4],
  layers: [
    { type: 'dense', units: 8, activation: 'tanh' },
    { type: 'dense', units: 3 },
  ],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.5, momentum: 0.9 },
};
const ROWS = 24;
const STEPS = 6;

/** A fixed batch: features from a small LCG, the label the index of the largest of the first three. */
function batch(): { x: Gradlab.TensorLike; y: Gradlab.Labels } {
  const x = new Float32Array(ROWS * 4);
  let state = 12345;
  for (let i = 0; i < x.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    x[i] = state / 2147483648 - 0.5;
  }
  const y = new Int32Array(ROWS);
  for (let row = 0; row < ROWS; row++) {
    const [a, b, c] = x.subarray(row * 4, row * 4 + 3);
    y[row] = a >= b && a >= c ? 0 : b >= c ? 1 : 2;
  }
  return { x: { shape: [ROWS, 4], data: x }, y: { shape: [ROWS], data: y } };
}

/** Trains in-thread and in one worker; `trainer` options come from the project (overrides, a createWorker). */
export async function train(gradlab: typeof Gradlab, trainer: Gradlab.CreateTrainerOptions = {}): Promise<ConsumerResult> {
  const { x, y } = batch();
  const model = await gradlab.createModel(SPEC, { seed: 7 });
  const inThread: number[] = [];
  for (let step = 0; step < STEPS; step++) inThread.push(model.trainStep(x, y).loss);
  model.dispose();

  const remote = await gradlab.createTrainer(SPEC, { ...trainer, seed: 7 });
  const worker: number[] = [];
  try {
    for (let step = 0; step < STEPS; step++) worker.push((await remote.trainStep(x, y)).loss);
  } finally {
    await remote.dispose();
  }
  const capabilities = await gradlab.capabilities();
  return { inThread, worker, simd: capabilities.simd, runtime: capabilities.runtime };
}
