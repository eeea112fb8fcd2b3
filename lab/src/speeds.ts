/**
 * Training while measuring every hidden layer after each epoch, the loop behind the
 * vanishing experiment and the lab page's live chart (so both show the same numbers for
 * the same seed).
 */
import type { Model, Dataset } from 'gradlab';
import { measureHiddenLayers } from './nets.js';

export interface EpochSpeeds {
  /** 1-based: the epoch just finished. */
  epoch: number;
  /** ‖∂C/∂b‖ per hidden layer over the whole training set. */
  speeds: number[];
  /** ‖∂C/∂W‖ per hidden layer over the whole training set. */
  weightGradNorms: number[];
  /** Mean training loss of the epoch. */
  loss: number;
}

/** Trains `model` one epoch at a time (SGD batches of `batchSize`, reshuffled from `seed`), measuring after each. */
export function* trainMeasuringSpeeds(model: Model, train: Dataset, options: { epochs: number; seed: number; hidden: number; batchSize?: number }): Generator<EpochSpeeds> {
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const history = model.fit(train, { epochs: 1, batchSize: options.batchSize ?? 10, seed: options.seed * 7919 + epoch, diagnostics: 'none' });
    const { speeds, weightGradNorms } = measureHiddenLayers(model, train, options.hidden);
    yield { epoch: epoch + 1, speeds, weightGradNorms, loss: history.epochs[0].loss };
  }
}
