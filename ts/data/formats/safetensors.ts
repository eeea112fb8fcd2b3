/** The tensors of a `.safetensors` data file (features and labels), read by the state-dict format's decoder. */
import { decodeSafetensorsData } from '../../model/safetensors.js';
import type { ParsedArray } from './parsed-array.js';

/** Every tensor of the file by name; integer dtypes (I64 labels) are exact. */
export function parseSafetensorsArrays(bytes: Uint8Array): Map<string, ParsedArray> {
  const arrays = new Map<string, ParsedArray>();
  for (const [name, { shape, dtype, data }] of Object.entries(decodeSafetensorsData(bytes))) {
    arrays.set(name, { shape, data, dtype });
  }
  return arrays;
}
