/**
 * One entry point for the doctor's data, in Node and in browsers alike: a built-in source by
 * name (`mnist`, `adding:50`, …) or a file's bytes, shaped and checked for a spec.
 */
import { invalidArgument } from '../../runtime/errors.js';
import { createModel } from '../../model/model.js';
import type { ModelSpec } from '../../model/spec.js';
import type { Dataset } from '../../model/types.js';
import { builtinDataset, parseBuiltinSource } from './builtin.js';
import type { DataTarget } from './dataset.js';
import { loadDataFile, type DataFile, type DataFileOptions } from './file.js';

export interface DataSourceOptions extends DataFileOptions {
  /** Seed of the generated sequence tasks (default 0). */
  seed?: number;
}

/** The spec's input, its model's output shape and its loss: what data for it must fit. */
export async function dataTargetOf(spec: ModelSpec): Promise<DataTarget> {
  const model = await createModel(spec);
  try {
    return { input: spec.input, output: model.outputShape, loss: spec.loss };
  } finally {
    model.dispose();
  }
}

/**
 * The dataset `source` names for `spec`: a built-in source's name, or a data file (then
 * `options.labels` may hold the labels). Every mismatch with the spec is a typed error.
 */
export async function loadDataSource(spec: ModelSpec, source: string | DataFile, options: DataSourceOptions = {}): Promise<Dataset> {
  const target = await dataTargetOf(spec);
  if (typeof source !== 'string') return loadDataFile(source, target, options);
  const builtin = parseBuiltinSource(source);
  if (builtin === undefined) invalidArgument('loadDataSource', 'source', 'mnist, mnist:N, adding:T or firstSymbol:T (or a file as { name, bytes })', JSON.stringify(source));
  if (options.labels !== undefined) invalidArgument('loadDataSource', 'options.labels', `no labels file with the built-in source '${source}'`, options.labels.name);
  return builtinDataset(builtin, target, options.seed ?? 0);
}
