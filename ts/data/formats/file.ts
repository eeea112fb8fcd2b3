/**
 * A data file's bytes to a dataset, by the file name's extension: `.csv`, `.npy`, `.npz` or
 * `.safetensors`. The labels are in the same file (a CSV column, an `.npz` or `.safetensors`
 * array) or in a second file. Only bytes come in: the CLI reads files from disk, the lab's
 * page from the user's file picker.
 */
import { invalidArgument } from '../../runtime/errors.js';
import { parseCsv } from './csv.js';
import { toDataset, type DataTarget } from './dataset.js';
import { pickArrays } from './named-arrays.js';
import { parseNpy } from './npy.js';
import { parseNpz } from './npz.js';
import type { ParsedArray } from './parsed-array.js';
import { parseSafetensorsArrays } from './safetensors.js';
import type { Dataset } from '../../model/types.js';

/** A file as bytes, with its name (the extension picks the format). */
export interface DataFile {
  name: string;
  bytes: Uint8Array;
}

export interface DataFileOptions {
  /** A second file with the labels (then none are looked for in `file`). */
  labels?: DataFile;
  /** CSV: the label column (index, negative from the end, or header name); default the last. */
  labelColumn?: number | string;
}

const OP = 'loadDataFile';

export const DATA_FORMATS = ['.csv', '.npy', '.npz', '.safetensors'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** The format of a file name, or an error listing the ones there are. */
export function formatOf(name: string): DataFormat {
  const format = DATA_FORMATS.find((extension) => name.toLowerCase().endsWith(extension));
  if (format === undefined) invalidArgument(OP, 'name', `a file ending in ${DATA_FORMATS.join(', ')}`, JSON.stringify(name));
  return format;
}

function text(file: DataFile): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    return invalidArgument(OP, file.name, 'UTF-8 text', 'bytes that are not UTF-8');
  }
}

/** The named arrays of an archive format, or `undefined` for the single-array formats. */
async function namedArrays(file: DataFile, format: DataFormat): Promise<Map<string, ParsedArray> | undefined> {
  if (format === '.npz') return parseNpz(file.bytes);
  if (format === '.safetensors') return parseSafetensorsArrays(file.bytes);
  return undefined;
}

/** The features of `file`, and its labels unless they come from another file (`withLabels` false). */
async function readFeatures(file: DataFile, withLabels: boolean, labelColumn: number | string | undefined): Promise<{ features: ParsedArray; labels?: ParsedArray }> {
  const format = formatOf(file.name);
  const arrays = await namedArrays(file, format);
  if (arrays !== undefined) return pickArrays(OP, arrays, withLabels);
  if (format === '.csv') return parseCsv(text(file), { labelColumn: withLabels ? labelColumn : 'none' });
  if (withLabels) invalidArgument(OP, 'labels', `a labels file beside the .npy features (${file.name})`, 'none');
  return { features: parseNpy(file.bytes) };
}

/** The one array of a labels file: a one-column CSV, an `.npy` array, an archive's only or labels array. */
async function readLabels(file: DataFile): Promise<ParsedArray> {
  const format = formatOf(file.name);
  const arrays = await namedArrays(file, format);
  if (arrays !== undefined) return arrays.size === 1 ? [...arrays.values()][0] : (pickArrays(OP, arrays, true).labels as ParsedArray);
  return format === '.csv' ? parseCsv(text(file), { labelColumn: 'none' }).features : parseNpy(file.bytes);
}

/** Reads `file` (and `options.labels`) and checks the arrays against `target`; see the module documentation. */
export async function loadDataFile(file: DataFile, target: DataTarget, options: DataFileOptions = {}): Promise<Dataset> {
  if (options.labels !== undefined) {
    const { features } = await readFeatures(file, false, undefined);
    return toDataset(features, await readLabels(options.labels), target);
  }
  const { features, labels } = await readFeatures(file, true, options.labelColumn);
  return toDataset(features, labels as ParsedArray, target);
}
