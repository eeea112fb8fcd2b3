/**
 * Reads the members of a ZIP archive (PKWARE APPNOTE 6.3): the central directory found from
 * the end record, each member's local header, stored (method 0) or deflated (method 8)
 * data, ZIP64 sizes and offsets, and the CRC-32 of every member checked. Deflate goes
 * through the platform's `DecompressionStream('deflate-raw')` (Node ≥ 18, every current
 * browser), so nothing here depends on Node.
 */
import { GradlabError, invalidArgument } from '../../runtime/errors.js';

const OP = 'readZip';
const END_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_END_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const END_SEARCH = 22 + 0xffff;

/** One member as the central directory describes it. */
interface Member {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function bounded(view: DataView, offset: number, length: number, what: string): void {
  if (offset < 0 || offset + length > view.byteLength) invalidArgument(OP, what, `a record within the archive's ${view.byteLength} bytes`, `bytes ${offset}…${offset + length} (the file may be truncated)`);
}

function uint64(view: DataView, offset: number, what: string): number {
  const value = view.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) invalidArgument(OP, what, 'a size below 2^53', String(value));
  return Number(value);
}

/** Where the central directory is and how many entries it has (ZIP64 when the end record says so). */
function findDirectory(view: DataView): { offset: number; entries: number } {
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - END_SEARCH); at--) {
    if (view.getUint32(at, true) !== END_SIGNATURE) continue;
    let entries = view.getUint16(at + 10, true);
    let offset = view.getUint32(at + 16, true);
    if ((entries === 0xffff || offset === 0xffffffff) && at >= 20 && view.getUint32(at - 20, true) === ZIP64_LOCATOR_SIGNATURE) {
      const end64 = uint64(view, at - 12, 'ZIP64 end record offset');
      bounded(view, end64, 56, 'ZIP64 end record');
      if (view.getUint32(end64, true) !== ZIP64_END_SIGNATURE) invalidArgument(OP, 'ZIP64 end record', 'its signature 0x06064b50', `0x${view.getUint32(end64, true).toString(16)}`);
      entries = uint64(view, end64 + 32, 'ZIP64 entry count');
      offset = uint64(view, end64 + 48, 'ZIP64 directory offset');
    }
    return { offset, entries };
  }
  return invalidArgument(OP, 'bytes', 'a ZIP archive (an end-of-central-directory record)', `${view.byteLength} bytes without one`);
}

/** Applies a ZIP64 extra field (id 1) to the sizes and offset that overflowed 32 bits. */
function applyZip64(view: DataView, extraStart: number, extraLength: number, member: Member): void {
  for (let at = extraStart; at + 4 <= extraStart + extraLength; ) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (id === 1) {
      let field = at + 4;
      for (const key of ['size', 'compressedSize', 'localOffset'] as const) {
        if (member[key] !== 0xffffffff) continue;
        bounded(view, field, 8, `ZIP64 field of ${member.name}`);
        member[key] = uint64(view, field, `${member.name}: ${key}`);
        field += 8;
      }
    }
    at += 4 + length;
  }
}

function readDirectory(view: DataView): Member[] {
  const { offset, entries } = findDirectory(view);
  const members: Member[] = [];
  let at = offset;
  for (let i = 0; i < entries; i++) {
    bounded(view, at, 46, `central directory entry ${i}`);
    if (view.getUint32(at, true) !== CENTRAL_SIGNATURE) invalidArgument(OP, `central directory entry ${i}`, 'its signature 0x02014b50', `0x${view.getUint32(at, true).toString(16)}`);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    bounded(view, at + 46, nameLength + extraLength, `central directory entry ${i}`);
    const name = new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset + at + 46, nameLength));
    const member: Member = {
      name,
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localOffset: view.getUint32(at + 42, true),
    };
    applyZip64(view, at + 46 + nameLength, extraLength, member);
    members.push(member);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return members;
}

/**
 * Inflates a member, stopping as soon as it outgrows its declared `size`: a hostile archive
 * (a "zip bomb") cannot make it allocate more than the directory admits to.
 */
async function inflate(compressed: Uint8Array, size: number, name: string): Promise<Uint8Array> {
  // Collected chunk by chunk: the declared size is the archive's word, not yet a fact.
  const chunks: Uint8Array[] = [];
  let written = 0;
  try {
    const reader = new Blob([compressed.slice()]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      if (written + chunk.value.length > size) {
        await reader.cancel();
        return invalidArgument(OP, `${name}: size`, `${size} bytes (the directory's)`, 'more bytes once inflated');
      }
      chunks.push(chunk.value);
      written += chunk.value.length;
    }
  } catch (error) {
    if (error instanceof GradlabError) throw error;
    return invalidArgument(OP, name, 'valid deflate data', error instanceof Error ? error.message : String(error));
  }
  const output = new Uint8Array(written);
  let at = 0;
  for (const chunk of chunks) {
    output.set(chunk, at);
    at += chunk.length;
  }
  return output;
}

/** The members of a ZIP archive by name, decompressed and checked; see the module documentation. */
export async function readZip(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const files = new Map<string, Uint8Array>();
  for (const member of readDirectory(view)) {
    bounded(view, member.localOffset, 30, `${member.name}: local header`);
    if (view.getUint32(member.localOffset, true) !== LOCAL_SIGNATURE) invalidArgument(OP, `${member.name}: local header`, 'its signature 0x04034b50', `0x${view.getUint32(member.localOffset, true).toString(16)}`);
    const start = member.localOffset + 30 + view.getUint16(member.localOffset + 26, true) + view.getUint16(member.localOffset + 28, true);
    bounded(view, start, member.compressedSize, `${member.name}: data`);
    const stored = bytes.subarray(start, start + member.compressedSize);
    let data: Uint8Array;
    if (member.method === 0) data = stored;
    else if (member.method === 8) data = await inflate(stored, member.size, member.name);
    else return invalidArgument(OP, `${member.name}: compression method`, '0 (stored) or 8 (deflate)', String(member.method));
    if (data.length !== member.size) invalidArgument(OP, `${member.name}: size`, `${member.size} bytes (the directory's)`, `${data.length} bytes`);
    const crc = crc32(data);
    if (crc !== member.crc) invalidArgument(OP, `${member.name}: CRC-32`, `0x${member.crc.toString(16)} (the directory's)`, `0x${crc.toString(16)} (the file is corrupt)`);
    files.set(member.name, data);
  }
  return files;
}
