/**
 * NumPy's `.npz`: a ZIP archive of `.npy` members, stored by `np.savez` and deflated by
 * `np.savez_compressed`. Keyword arrays keep their names (`np.savez(f, x=x, y=y)` holds
 * `x.npy` and `y.npy`); positional ones are `arr_0`, `arr_1`, ….
 */
import { parseNpy } from './npy.js';
import type { ParsedArray } from './parsed-array.js';
import { readZip } from './zip.js';

/** The arrays of `.npz` bytes by name (without `.npy`); members that are not `.npy` files are ignored. */
export async function parseNpz(bytes: Uint8Array): Promise<Map<string, ParsedArray>> {
  const arrays = new Map<string, ParsedArray>();
  for (const [name, member] of await readZip(bytes)) {
    if (name.endsWith('.npy')) arrays.set(name.slice(0, -'.npy'.length), parseNpy(member));
  }
  return arrays;
}
