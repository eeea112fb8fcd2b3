/**
 * The training run that the browser page and the Node tests both perform: a small
 * deterministic dataset (no random generator, so both runtimes build the same bits) and a
 * small network. Shared by test/browser/page/main.ts, test/browser/browser.test.ts and
 * test/trainer/trainer.test.ts.
 */
import type { ModelSpec } from '../../dist/ts/index.js';

/** The per-example features and the classes of {@link dataset}. */
export const FEATURES = 12;
export const CLASSES = 3;

/** A network with every kind of parameter the exchange has to carry. */
export const SPEC: ModelSpec = {
  input: [FEATURES],
  layers: [
    { type: 'dense', units: 16, activation: 'tanh' },
    { type: 'dense', units: 16, activation: 'relu', init: 'he' },
    { type: 'dense', units: CLASSES },
  ],
  loss: 'softmaxCrossEntropy',
  optimizer: { type: 'sgd', lr: 0.1, momentum: 0.9 },
  clip: { norm: 5 },
  regularization: { l2: 1e-4 },
};

/** The browser run's settings. */
export const RUN = { seed: 7, epochs: 6, batchSize: 16, shuffleSeed: 3 } as const;

/**
 * `count` rows of smooth features; the class is which third of [-1, 1] the mean of the first
 * three features falls in, so a small net learns it quickly.
 */
export function dataset(count: number): { x: { shape: number[]; data: Float32Array }; y: { shape: number[]; data: Int32Array } } {
  const x = new Float32Array(count * FEATURES);
  const y = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    for (let feature = 0; feature < FEATURES; feature++) x[row * FEATURES + feature] = Math.fround(Math.sin(row * 0.731 + feature * 1.37 + (row % 7) * feature * 0.11));
    const mean = (x[row * FEATURES] + x[row * FEATURES + 1] + x[row * FEATURES + 2]) / 3;
    y[row] = mean < -0.2 ? 0 : mean < 0.2 ? 1 : 2;
  }
  return { x: { shape: [count, FEATURES], data: x }, y: { shape: [count], data: y } };
}

/** FNV-1a over the state dict's names and float bits: equal hashes mean bit-identical weights. */
export function hashState(dict: Record<string, { shape: number[]; data: Float32Array }>): string {
  let hash = 0x811c9dc5;
  const mix = (byte: number) => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (const name of Object.keys(dict).sort()) {
    for (const char of name) mix(char.charCodeAt(0) & 0xff);
    const bytes = new Uint8Array(dict[name].data.buffer, dict[name].data.byteOffset, dict[name].data.byteLength);
    for (const byte of bytes) mix(byte);
  }
  return hash.toString(16).padStart(8, '0');
}

/** The largest |actual − expected| over the largest |expected|, worst over every entry. */
export function relativeError(actual: Record<string, { data: ArrayLike<number> }>, expected: Record<string, { data: ArrayLike<number> }>): number {
  let worst = 0;
  for (const [name, tensor] of Object.entries(expected)) {
    let difference = 0;
    let scale = 0;
    for (let i = 0; i < tensor.data.length; i++) {
      difference = Math.max(difference, Math.abs(actual[name].data[i] - tensor.data[i]));
      scale = Math.max(scale, Math.abs(tensor.data[i]));
    }
    if (scale > 0) worst = Math.max(worst, difference / scale);
  }
  return worst;
}
