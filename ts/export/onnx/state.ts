/**
 * What every layer's graph builder reads: the graph it appends to and the model's state dict,
 * whose entries it looks up by PyTorch name and shape.
 */
import { GradlabError, invalidArgument, shapeMismatch, shapeString } from '../../runtime/errors.js';
import type { StateDict, TensorData } from '../../model/types.js';
import type { OnnxGraph } from './graph.js';

export const EXPORT_OP = 'exportOnnx';

/** A value flowing between layers: its name in the graph and its per-example shape. */
export interface Flow {
  value: string;
  dims: number[];
}

export interface ExportContext {
  graph: OnnxGraph;
  state: StateDict;
}

/** The state-dict entry `name`, which must have `shape`. */
export function parameter(context: ExportContext, name: string, shape: readonly number[]): TensorData {
  const entry = Object.prototype.hasOwnProperty.call(context.state, name) ? context.state[name] : undefined;
  if (entry === undefined) invalidArgument(EXPORT_OP, name, `a state-dict entry of shape ${shapeString(shape)}`, 'nothing (missing)');
  if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) shapeMismatch(EXPORT_OP, name, shapeString(shape), shapeString(entry.shape));
  return entry;
}

/** The length of the last axis: the features every layer works on. */
export function features(dims: readonly number[]): number {
  return dims[dims.length - 1];
}

/** A default that the validated spec (`model.spec`) always fills in, such as BatchNorm's eps. */
export function filledIn<T>(value: T | undefined, layer: string, field: string): T {
  if (value !== undefined) return value;
  throw new GradlabError({
    code: 'InvalidSpec',
    op: EXPORT_OP,
    arg: `${layer}.${field}`,
    expected: `a validated spec, with ${field} filled in`,
    actual: 'no value',
    message: `${EXPORT_OP}: layer '${layer}' has no ${field}; export a model, whose spec is validated`,
  });
}
