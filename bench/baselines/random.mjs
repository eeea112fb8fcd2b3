/**
 * Deterministic random data for benchmarks and baseline tests, so every contender in a run
 * sees the same numbers.
 */

/**
 * A seeded uniform generator in [0, 1) (mulberry32: small, fast and good enough for test data).
 * @param {number} seed
 * @returns {() => number}
 */
export function uniform(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Float32Array of `length` values uniform in [-scale, scale).
 * @param {number} length
 * @param {number} seed
 * @param {number} [scale]
 */
export function randomArray(length, seed, scale = 1) {
  const next = uniform(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (2 * next() - 1) * scale;
  return out;
}

/**
 * A Float32Array of `length` standard-normal values times `std` (Box–Muller).
 * @param {number} length
 * @param {number} seed
 * @param {number} [std]
 */
export function randomNormalArray(length, seed, std = 1) {
  const next = uniform(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - next())) * std;
    const angle = 2 * Math.PI * next();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/**
 * An Int32Array of `length` class indices in [0, classes).
 * @param {number} length
 * @param {number} classes
 * @param {number} seed
 */
export function randomLabels(length, classes, seed) {
  const next = uniform(seed);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * classes);
  return out;
}

/**
 * MNIST-like inputs: `batch` rows of 784 pixels in [0, 1) with labels in [0, 10).
 * Random pixels are fine for throughput: no kernel here branches on the values.
 * @param {number} batch
 * @param {number} seed
 */
export function mnistLikeBatch(batch, seed) {
  const next = uniform(seed);
  const pixels = new Float32Array(batch * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = next();
  return { pixels, labels: randomLabels(batch, 10, seed + 1) };
}
