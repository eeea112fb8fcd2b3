/**
 * One run of the lab page, as a sequence of measurements: every net at initialisation (epoch 0),
 * then after each epoch of the CLI's own loop (`trainMeasuringSpeeds`). The worker posts each
 * measurement as it comes; test/lab-web.test.ts replays the same run in Node to compare.
 */
import type { MnistSplit } from '../../dist/ts/lab/data.js';
import { measureHiddenLayers } from '../../dist/ts/lab/nets.js';
import { trainMeasuringSpeeds } from '../../dist/ts/lab/speeds.js';
import { createModelSync, type Model } from '../../dist/ts/model.js';
import type { Dataset } from '../../dist/ts/training.js';
import type { Core } from '../../dist/ts/wasm.js';
import { netsFor, type PageNet, type RunConfig } from './config.js';
import type { EpochPoint } from './protocol.js';

export interface Measurement {
  net: PageNet['key'];
  point: EpochPoint;
}

function accuracy(model: Model, test: Dataset): number {
  return model.evaluate(test).accuracy ?? NaN;
}

/**
 * Trains the nets of `config` side by side (each seeded with `config.seed`, so a net equals the
 * CLI's run of it), yielding one measurement per net and epoch. Stopping early (`return()`)
 * frees the models.
 */
export function* measureRun(core: Core, config: RunConfig, data: Pick<MnistSplit, 'train' | 'test'>): Generator<Measurement> {
  const nets = netsFor(config).map((net) => ({ net, model: createModelSync(core, net.spec, config.seed) }));
  try {
    for (const { net, model } of nets) {
      const { speeds, weightGradNorms } = measureHiddenLayers(model, data.train, config.depth);
      yield { net: net.key, point: { epoch: 0, speeds, weightGradNorms, loss: null, testAccuracy: accuracy(model, data.test) } };
    }
    const loops = nets.map(({ model }) => trainMeasuringSpeeds(model, data.train, { epochs: config.epochs, seed: config.seed, hidden: config.depth }));
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      for (const [i, { net, model }] of nets.entries()) {
        const measured = loops[i].next().value;
        if (!measured) throw new Error(`the training loop of ${net.title} ended before epoch ${epoch}`);
        const { speeds, weightGradNorms, loss } = measured;
        yield { net: net.key, point: { epoch: measured.epoch, speeds, weightGradNorms, loss, testAccuracy: accuracy(model, data.test) } };
      }
    }
  } finally {
    for (const { model } of nets) model.dispose();
  }
}
