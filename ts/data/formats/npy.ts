/**
 * NumPy's `.npy` format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *
 * ```text
 * 6 bytes   \x93NUMPY
 * 2 bytes   version major, minor (1.0, 2.0 or 3.0)
 * 2 or 4    header length, little-endian (u16 in 1.0, u32 from 2.0)
 * header    a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * the rest  the values, C or Fortran order, in the byte order `descr` names
 * ```
 *
 * Floats (f4, f8), signed and unsigned integers (1, 2, 4, 8 bytes) and booleans are read, in
 * either byte order and either memory order; the result is always C order. Float32 stays
 * float32; the rest becomes float64 (64-bit integers beyond ±2^53 are refused: they would
 * not survive the conversion).
 */
import { GradlabError, describe, invalidArgument } from '../../runtime/errors.js';
import { elementCount, type ParsedArray } from './parsed-array.js';

const OP = 'parseNpy';
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

type Reader = (view: DataView, offset: number, littleEndian: boolean) => number;

/** The element readers by `kind + size`; 64-bit integers are checked for exactness. */
const READERS: Record<string, { bytes: number; read: Reader }> = {
  f4: { bytes: 4, read: (v, o, le) => v.getFloat32(o, le) },
  f8: { bytes: 8, read: (v, o, le) => v.getFloat64(o, le) },
  i1: { bytes: 1, read: (v, o) => v.getInt8(o) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  b1: { bytes: 1, read: (v, o) => (v.getUint8(o) === 0 ? 0 : 1) },
  i2: { bytes: 2, read: (v, o, le) => v.getInt16(o, le) },
  u2: { bytes: 2, read: (v, o, le) => v.getUint16(o, le) },
  i4: { bytes: 4, read: (v, o, le) => v.getInt32(o, le) },
  u4: { bytes: 4, read: (v, o, le) => v.getUint32(o, le) },
  i8: { bytes: 8, read: (v, o, le) => exactInteger(v.getBigInt64(o, le), o) },
  u8: { bytes: 8, read: (v, o, le) => exactInteger(v.getBigUint64(o, le), o) },
};

function exactInteger(value: bigint, offset: number): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    invalidArgument(OP, `the value at byte ${offset}`, 'a 64-bit integer within ±2^53 (exact as a number)', String(value));
  }
  return Number(value);
}

function headerField(header: string, key: string, pattern: RegExp): string {
  const match = new RegExp(`['"]${key}['"]\\s*:\\s*${pattern.source}`).exec(header);
  if (match === null) invalidArgument(OP, `header.${key}`, `a '${key}' entry (${pattern.source})`, JSON.stringify(header.slice(0, 120)));
  return match[1];
}

/** The version and the header's text, and where the data starts. */
function readPreamble(bytes: Uint8Array): { header: string; dataStart: number } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    invalidArgument(OP, 'bytes', 'a .npy file (it begins with \\x93NUMPY)', bytes.length < 10 ? `${bytes.length} bytes` : `bytes ${Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  }
  const major = bytes[6];
  if (major < 1 || major > 3) invalidArgument(OP, 'version', '1.0, 2.0 or 3.0', `${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) invalidArgument(OP, 'bytes', 'a complete header length', `${bytes.length} bytes (truncated)`);
  const length = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  if (start + length > bytes.length) invalidArgument(OP, 'header length', `at most the ${bytes.length - start} bytes after it (the file may be truncated)`, String(length));
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(start, start + length));
  } catch (error) {
    invalidArgument(OP, 'header', 'text', error instanceof Error ? error.message : String(error));
  }
  return { header, dataStart: start + length };
}

/** Reverses the axes of a Fortran-order array into C order. */
function fortranToC(values: Float32Array | Float64Array, shape: number[]): Float32Array | Float64Array {
  if (shape.length < 2) return values;
  const result = new (values.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(values.length);
  // Fortran strides: the first axis varies fastest.
  const strides = shape.map((_, axis) => shape.slice(0, axis).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < values.length; c++) {
    let source = 0;
    for (let axis = 0; axis < shape.length; axis++) source += index[axis] * strides[axis];
    result[c] = values[source];
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return result;
}

/** Parses `.npy` bytes; see the module documentation. */
export function parseNpy(bytes: Uint8Array): ParsedArray {
  if (!(bytes instanceof Uint8Array)) invalidArgument(OP, 'bytes', 'a Uint8Array', describe(bytes));
  const { header, dataStart } = readPreamble(bytes);
  const descr = headerField(header, 'descr', /'([^']*)'/);
  const fortran = headerField(header, 'fortran_order', /(True|False)/) === 'True';
  const shapeText = headerField(header, 'shape', /\(([^)]*)\)/);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : NaN));

  const dtype = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const reader = dtype === null ? undefined : READERS[dtype[2] + dtype[3]];
  if (dtype === null || reader === undefined) {
    throw new GradlabError({
      code: 'InvalidArgument',
      op: OP,
      arg: 'header.descr',
      expected: `a numeric dtype (${Object.keys(READERS).join(', ')}, either byte order)`,
      actual: JSON.stringify(descr),
      message: `${OP}: the array's dtype must be a plain number type (${Object.keys(READERS).join(', ')}), got ${JSON.stringify(descr)}`,
    });
  }
  const available = bytes.length - dataStart;
  // Any count whose byte size is a safe integer; the exact size check below then refuses
  // what the file does not hold, before anything is allocated.
  const count = elementCount(OP, 'header.shape', shape, Math.floor(Number.MAX_SAFE_INTEGER / reader.bytes));
  if (count * reader.bytes !== available) {
    invalidArgument(OP, 'bytes', `${count * reader.bytes} data bytes for ${descr} of shape (${shape.join(', ')})`, `${available} bytes${available < count * reader.bytes ? ' (the file may be truncated)' : ''}`);
  }
  // '=' is the writer's native order; every platform NumPy writes from today is little-endian.
  const littleEndian = dtype[1] !== '>';
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, available);
  const float32 = descr.endsWith('f4');
  let data: Float32Array | Float64Array;
  if (float32 && littleEndian) {
    // A copy into a fresh, aligned buffer: the header leaves the data at any byte offset.
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length));
  } else {
    data = float32 ? new Float32Array(count) : new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = reader.read(view, i * reader.bytes, littleEndian);
  }
  return { shape, data: fortran ? fortranToC(data, shape) : data, dtype: descr };
}
