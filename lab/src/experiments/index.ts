/** Every experiment of the lab by name. */
import type { Experiment, ExperimentName } from '../experiment.js';
import { activations } from './activations.js';
import { exploding } from './exploding.js';
import { lstm } from './lstm.js';
import { pretraining } from './pretrain.js';
import { remedies } from './remedies.js';
import { vanishing } from './vanishing.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const experiments: Record<ExperimentName, Experiment<any>> = {
  activations,
  vanishing,
  exploding,
  remedies,
  lstm,
  pretrain: pretraining,
};
