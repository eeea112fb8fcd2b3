/**
 * The safetensors format (https://github.com/huggingface/safetensors), for state dicts:
 *
 * ```text
 * 8 bytes   N, the header length, unsigned 64-bit little-endian
 * N bytes   a UTF-8 JSON object padded with spaces to a multiple of 8:
 *           {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}
 * the rest  the tensors' bytes, little-endian, row-major; offsets are relative to this part
 *           and tile it without gaps or overlaps
 * ```
 *
 * The encoder writes what the reference implementation writes for an all-F32 dict (compact
 * JSON, `__metadata__` first, tensors sorted by name and stored in that order), so its bytes
 * match files written by `safetensors.torch.save_file`. The decoder reads F32 and converts
 * F64, F16 and BF16 to float32; anything malformed is a `GradlabError` naming the field.
 */
import { GradlabError, describe, shapeString } from '../runtime/errors.js';
import type { StateDict, TensorLike } from './types.js';

/** Bytes per element of each dtype the state-dict decoder reads (it converts all of them to float32). */
const DTYPE_BYTES = { F32: 4, F64: 8, F16: 2, BF16: 2 } as const;
/** And the integer dtypes data files add (class labels are usually I64), read as exact numbers. */
const DATA_DTYPE_BYTES = { ...DTYPE_BYTES, I8: 1, U8: 1, BOOL: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8 } as const;
type Dtype = keyof typeof DATA_DTYPE_BYTES;

/** The reference implementation refuses headers above 100 MB; so does this one. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function malformed(op: string, arg: string, expected: string, actual: string): never {
  throw new GradlabError({ code: 'InvalidArgument', op, arg, expected, actual, message: `${op}: '${arg}' must be ${expected}, got ${actual}` });
}

/** Orders names by Unicode code point, as Rust's `String` ordering does (not UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const left = Array.from(a, (c) => c.codePointAt(0) as number);
  const right = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] - right[i];
  }
  return left.length - right.length;
}

/**
 * Sets `record[key]` as an own property: plain assignment of `__proto__` would replace the
 * object's prototype instead (and a tensor of that name would vanish from the dict).
 */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function isShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/**
 * Encodes tensors (e.g. `model.stateDict()`) as safetensors bytes, every tensor as F32.
 * `metadata` goes into the header's `__metadata__` (omitted when empty).
 */
export function encodeSafetensors(tensors: Record<string, TensorLike>, metadata: Record<string, string> = {}): Uint8Array {
  const op = 'encodeSafetensors';
  if (typeof tensors !== 'object' || tensors === null) malformed(op, 'tensors', 'a record of tensors {shape, data}', describe(tensors));
  if (typeof metadata !== 'object' || metadata === null) malformed(op, 'metadata', 'a record of strings', describe(metadata));
  const header: string[] = [];
  const metadataEntries = Object.entries(metadata);
  for (const [key, value] of metadataEntries) {
    if (typeof value !== 'string') malformed(op, `metadata.${key}`, 'a string', describe(value));
  }
  if (metadataEntries.length > 0) header.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);

  const names = Object.keys(tensors).sort(byCodePoint);
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY || name === '') malformed(op, 'tensors', `tensor names other than '' and '${METADATA_KEY}'`, JSON.stringify(name));
    const { shape, data } = (tensors[name] ?? {}) as Partial<TensorLike>;
    if (!isShape(shape)) malformed(op, `${name}.shape`, 'an array of non-negative integers', describe(shape));
    const size = shape.reduce((a, b) => a * b, 1);
    if (data === undefined || data === null || data.length !== size) {
      malformed(op, `${name}.data`, `${size} values for shape ${shapeString(shape)}`, describe(data));
    }
    // Built by hand: JSON.stringify of an object would move integer-like names ("12") first.
    header.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: 'F32', shape, data_offsets: [offset, offset + 4 * size] })}`);
    offset += 4 * size;
  }

  const json = new TextEncoder().encode(`{${header.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const name of names) {
    const data = tensors[name].data;
    if (LITTLE_ENDIAN) {
      const values = data instanceof Float32Array ? data : Float32Array.from(data);
      bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), position);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i], true);
    }
    position += 4 * data.length;
  }
  return bytes;
}

/** One header entry after validation. */
interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and validates the header; the entries come back sorted by their offsets. */
function readHeader(op: string, bytes: Uint8Array, dtypes: Partial<Record<Dtype, number>> = DTYPE_BYTES): { entries: Entry[]; metadata: Record<string, string>; bufferStart: number } {
  if (!(bytes instanceof Uint8Array)) malformed(op, 'bytes', 'a Uint8Array', describe(bytes));
  if (bytes.length < 8) malformed(op, 'bytes', 'at least 8 bytes (the header length)', `${bytes.length} bytes (truncated)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(Math.min(bytes.length - 8, MAX_HEADER_BYTES))) {
    const limit = bytes.length - 8 > MAX_HEADER_BYTES ? `at most ${MAX_HEADER_BYTES}` : `at most the ${bytes.length - 8} bytes after it (the file may be truncated)`;
    malformed(op, 'header length', `a length ${limit}`, String(declared));
  }
  const headerLength = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    malformed(op, 'header', 'UTF-8 JSON', error instanceof Error ? error.message : String(error));
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) malformed(op, 'header', 'a JSON object', describe(header));

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  const bufferLength = bytes.length - 8 - headerLength;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) malformed(op, METADATA_KEY, 'an object of strings', describe(raw));
      for (const [key, value] of Object.entries(raw)) {
        if (typeof value !== 'string') malformed(op, `${METADATA_KEY}.${key}`, 'a string', describe(value));
        setOwn(metadata, key, value);
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null) malformed(op, name, '{dtype, shape, data_offsets}', describe(raw));
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(dtypes, dtype)) malformed(op, `${name}.dtype`, `one of ${Object.keys(dtypes).join(', ')}`, describe(dtype));
    if (!isShape(shape)) malformed(op, `${name}.shape`, 'an array of non-negative integers', describe(shape));
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      malformed(op, `${name}.data_offsets`, '[begin, end] with non-negative integers', describe(offsets));
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > bufferLength) malformed(op, `${name}.data_offsets`, `0 ≤ begin ≤ end ≤ ${bufferLength} (the data's length)`, `[${begin}, ${end}]`);
    const expectedBytes = shape.reduce((a, b) => a * b, 1) * DATA_DTYPE_BYTES[dtype as Dtype];
    if (end - begin !== expectedBytes) {
      malformed(op, `${name}.data_offsets`, `${expectedBytes} bytes for ${dtype} of shape ${shapeString(shape)}`, `${end - begin} bytes`);
    }
    entries.push({ name, dtype: dtype as Dtype, shape, begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of entries) {
    if (entry.begin !== covered) {
      const problem = entry.begin < covered ? `an overlap: it begins at ${entry.begin}, before ${covered}` : `a gap: it begins at ${entry.begin}, after ${covered}`;
      malformed(op, `${entry.name}.data_offsets`, `offsets that tile the data without gaps or overlaps (begin ${covered})`, problem);
    }
    covered = entry.end;
  }
  if (covered !== bufferLength) malformed(op, 'bytes', `${covered} data bytes after the header (what the offsets cover)`, `${bufferLength} bytes`);
  return { entries, metadata, bufferStart: 8 + headerLength };
}

/** float16 bits to a number (subnormals, infinities and NaN included). */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** 64-bit integers as numbers, refused beyond ±2^53 where they would silently round. */
function exactInteger(op: string, name: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) malformed(op, name, 'integers within ±2^53', String(value));
  return Number(value);
}

function readValues<T extends Float32Array | Float64Array>(op: string, view: DataView, entry: Entry, start: number, into: new (length: number) => T): T {
  const count = (entry.end - entry.begin) / DATA_DTYPE_BYTES[entry.dtype];
  const at = start + entry.begin;
  if (entry.dtype === 'F32' && LITTLE_ENDIAN && into === (Float32Array as unknown)) {
    // A copy into a fresh, aligned buffer: the data may sit at any byte offset.
    return new Float32Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + 4 * count)) as T;
  }
  const values = new into(count);
  const read: (i: number) => number = {
    F32: (i: number) => view.getFloat32(at + 4 * i, true),
    F64: (i: number) => view.getFloat64(at + 8 * i, true),
    F16: (i: number) => halfToNumber(view.getUint16(at + 2 * i, true)),
    // bfloat16 is the top half of a float32.
    BF16: (i: number) => {
      scratch.setUint32(0, view.getUint16(at + 2 * i, true) << 16, true);
      return scratch.getFloat32(0, true);
    },
    I8: (i: number) => view.getInt8(at + i),
    U8: (i: number) => view.getUint8(at + i),
    BOOL: (i: number) => (view.getUint8(at + i) === 0 ? 0 : 1),
    I16: (i: number) => view.getInt16(at + 2 * i, true),
    U16: (i: number) => view.getUint16(at + 2 * i, true),
    I32: (i: number) => view.getInt32(at + 4 * i, true),
    U32: (i: number) => view.getUint32(at + 4 * i, true),
    I64: (i: number) => exactInteger(op, entry.name, view.getBigInt64(at + 8 * i, true)),
    U64: (i: number) => exactInteger(op, entry.name, view.getBigUint64(at + 8 * i, true)),
  }[entry.dtype];
  for (let i = 0; i < count; i++) values[i] = read(i);
  return values;
}

const scratch = new DataView(new ArrayBuffer(4));

/** Decodes safetensors bytes to a state dict of float32 tensors (F64, F16 and BF16 converted). */
export function decodeSafetensors(bytes: Uint8Array): StateDict {
  const { entries, bufferStart } = readHeader('decodeSafetensors', bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: StateDict = {};
  for (const entry of [...entries].sort((a, b) => byCodePoint(a.name, b.name))) {
    setOwn(tensors, entry.name, { shape: entry.shape, data: readValues<Float32Array>('decodeSafetensors', view, entry, bufferStart, Float32Array) });
  }
  return tensors;
}

/** A tensor of a data file: its values as numbers, and the dtype the file declared. */
export interface SafetensorsArray {
  shape: number[];
  dtype: string;
  /** Float32 for F32 (no copy to a wider type); float64 for every other dtype, exact for the integers. */
  data: Float32Array | Float64Array;
}

/**
 * Decodes the tensors of a data file (features and labels): the float dtypes and the
 * integer ones (I8 … I64, U8 … U64, BOOL), since class labels are usually saved as I64.
 */
export function decodeSafetensorsData(bytes: Uint8Array): Record<string, SafetensorsArray> {
  const op = 'decodeSafetensorsData';
  const { entries, bufferStart } = readHeader(op, bytes, DATA_DTYPE_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors: Record<string, SafetensorsArray> = {};
  for (const entry of entries) {
    const data = entry.dtype === 'F32' ? readValues(op, view, entry, bufferStart, Float32Array) : readValues(op, view, entry, bufferStart, Float64Array);
    setOwn(tensors, entry.name, { shape: entry.shape, dtype: entry.dtype, data });
  }
  return tensors;
}

/** The `__metadata__` of safetensors bytes (an empty object when there is none). */
export function safetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  return readHeader('safetensorsMetadata', bytes).metadata;
}

/** {@link encodeSafetensors} under its other public name (kept: scripts and the README use it). */
export const toSafetensors = encodeSafetensors;
/** {@link decodeSafetensors} under its other public name (kept: scripts and the README use it). */
export const fromSafetensors = decodeSafetensors;
