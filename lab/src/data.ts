/** The lab's data: 1,000 real MNIST training digits (100 per digit) and 1,000 held-out ones. */
import { loadMnist, type Dataset } from 'gradlab';

export interface MnistSplit {
  /** Training images with one-hot targets (for sigmoid cross-entropy, Nielsen's cost). */
  train: Dataset;
  /** The same images with class indices (for softmax cross-entropy). */
  trainLabels: Dataset;
  test: Dataset;
  testLabels: Dataset;
}

let cached: Promise<MnistSplit> | undefined;

/** Loads the split once per worker. */
export function mnistSplit(): Promise<MnistSplit> {
  cached ??= (async () => {
    const train = await loadMnist({ perDigit: 100 });
    const test = await loadMnist({ perDigit: 100, offset: 100 });
    return {
      train: { x: train.x, y: train.oneHot },
      trainLabels: { x: train.x, y: train.labels },
      test: { x: test.x, y: test.oneHot },
      testLabels: { x: test.x, y: test.labels },
    };
  })();
  return cached;
}
