#!/usr/bin/env node
// Writes a relaxed-SIMD build of a WebAssembly module: every f32x4 multiply whose product feeds
// straight into an f32x4 add (or is subtracted) becomes one f32x4.relaxed_madd (relaxed_nmadd),
// which V8 compiles to an FMA where the CPU has one. rustc 1.63 cannot emit relaxed SIMD, so this
// rewrites the linked module instead, with no dependencies:
//
//   node scripts/relaxed-simd.mjs dist/gradlab.wasm dist/gradlab-relaxed.wasm
//
// Only the code section changes. Each function body is decoded instruction by instruction; a
// model of the operand stack records, for every value, the run of instructions that computed it
// (straight-line code only: a branch, call or unknown instruction forgets the stack). Two shapes
// are rewritten, for v = f32x4.mul:
//
//   [a][b] mul [c] add      ->  [a][b][c] relaxed_madd     a·b + c, no instruction moves
//   [c][a][b] mul add       ->  [a][b][c] relaxed_madd     c moves after a and b, only when
//   [c][a][b] mul sub       ->  [a][b][c] relaxed_nmadd    c − a·b; c is pure (local.get, loads,
//                                                          arithmetic) and a, b neither write
//                                                          what c reads nor store to memory
//
// relaxed_madd may round once (fused) or twice, by platform; callers accept either (the results
// stay within the tests' f32 tolerances). The output is validated with WebAssembly.validate when
// this runtime knows relaxed SIMD (Node ≥ 22; Node 20 rejects it, which the report says).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const SIMD_PREFIX = 0xfd;
const F32X4_ADD = 0xe4;
const F32X4_SUB = 0xe5;
const F32X4_MUL = 0xe6;
const RELAXED_MADD = 0x105;
const RELAXED_NMADD = 0x106;

/** A byte reader over a module with LEB128 decoding. */
class Reader {
  constructor(bytes, position = 0) {
    this.bytes = bytes;
    this.position = position;
  }
  byte() {
    if (this.position >= this.bytes.length) throw new Error('relaxed-simd: unexpected end of module');
    return this.bytes[this.position++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  }
  /** Skips a signed LEB128 (i32/i64 constants, block types). */
  signed() {
    while (this.byte() & 0x80);
  }
  skip(count) {
    this.position += count;
  }
  memarg() {
    const align = this.u32();
    if (align & 0x40) this.u32(); // multi-memory: a memory index follows
    this.u32();
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

const simd = (opcode) => Uint8Array.from([SIMD_PREFIX, ...leb(opcode)]);

/**
 * One decoded instruction: its bytes and what it does to the operand stack. `pops`/`pushes`
 * are null for instructions the model does not follow (they forget the stack).
 * @typedef {{ bytes: Uint8Array, pops: number | null, pushes: number, simd?: number,
 *   reads?: number, writes?: number, loads?: boolean, effect?: boolean }} Instruction
 */

/** Stack effects of the non-prefixed numeric opcodes 0x45..0xc4. */
function numericArity(opcode) {
  if (opcode === 0x45 || opcode === 0x50) return 1; // eqz
  if (opcode <= 0x66) return 2; // comparisons
  const unary = [[0x67, 0x69], [0x79, 0x7b], [0x8b, 0x91], [0x99, 0x9f], [0xa7, 0xc4]];
  return unary.some(([low, high]) => opcode >= low && opcode <= high) ? 1 : 2;
}

/** Stack effects of the SIMD opcodes the model follows (others forget the stack). */
function simdArity(opcode) {
  if (opcode <= 0x0a || opcode === 0x5c || opcode === 0x5d) return { pops: 1, loads: true }; // loads
  if (opcode === 0x0b) return { pops: 2, pushes: 0, effect: true }; // v128.store
  if (opcode === 0x0c) return { pops: 0 }; // v128.const
  if (opcode === 0x0d || opcode === 0x0e) return { pops: 2 }; // shuffle, swizzle
  if (opcode >= 0x0f && opcode <= 0x14) return { pops: 1 }; // splats
  if (opcode >= 0x15 && opcode <= 0x22) return { pops: [0x17, 0x1a, 0x1c, 0x1e, 0x20, 0x22].includes(opcode) ? 2 : 1 }; // lanes
  if (opcode >= 0x23 && opcode <= 0x4c) return { pops: 2 }; // comparisons
  if (opcode === 0x4d || opcode === 0x53) return { pops: 1 }; // not, any_true
  if (opcode >= 0x4e && opcode <= 0x51) return { pops: 2 }; // and, andnot, or, xor
  if (opcode === 0x52) return { pops: 3 }; // bitselect
  if (opcode >= 0x67 && opcode <= 0x6a) return { pops: 1 }; // f32x4 ceil, floor, trunc, nearest
  if (opcode === 0xa0 || opcode === 0xa1) return { pops: 1 }; // i32x4 abs, neg
  if (opcode >= 0xab && opcode <= 0xb9 && opcode !== 0xaf && opcode !== 0xb0 && opcode !== 0xb2 && opcode !== 0xb3 && opcode !== 0xb4) return { pops: 2 }; // i32x4 shifts, add, sub, mul, min, max
  if (opcode >= 0xe0 && opcode <= 0xe3) return { pops: 1 }; // f32x4 abs, neg, sqrt
  if (opcode >= 0xe4 && opcode <= 0xeb) return { pops: 2 }; // f32x4 add..pmax
  if (opcode >= 0xf8 && opcode <= 0xfb) return { pops: 1 }; // f32x4/i32x4 conversions
  return null;
}

/**
 * Decodes one instruction at `reader` into an {@link Instruction}.
 * @param {Reader} reader
 * @returns {Instruction}
 */
function decode(reader) {
  const start = reader.position;
  const opcode = reader.byte();
  /** @type {Omit<Instruction, 'bytes'>} */
  let info = { pops: null, pushes: 1 };
  const blockType = () => {
    const next = reader.bytes[reader.position];
    if (next === 0x40 || (next >= 0x6f && next <= 0x7f)) reader.skip(1);
    else reader.signed();
  };
  if (opcode === 0x02 || opcode === 0x03 || opcode === 0x04 || opcode === 0x06) blockType();
  else if (opcode === 0x0c || opcode === 0x0d || opcode === 0x07 || opcode === 0x08 || opcode === 0x09 || opcode === 0x18) reader.u32();
  else if (opcode === 0x0e) {
    const count = reader.u32();
    for (let i = 0; i <= count; i++) reader.u32();
  } else if (opcode === 0x10 || opcode === 0x12 || opcode === 0xd2) reader.u32();
  else if (opcode === 0x11 || opcode === 0x13) {
    reader.u32();
    reader.u32();
  } else if (opcode === 0x1a) info = { pops: 1, pushes: 0 };
  else if (opcode === 0x1b) info = { pops: 3, pushes: 1 };
  else if (opcode === 0x1c) {
    const count = reader.u32();
    reader.skip(count);
  } else if (opcode >= 0x20 && opcode <= 0x22) {
    const local = reader.u32();
    info = opcode === 0x20 ? { pops: 0, pushes: 1, reads: local } : opcode === 0x21 ? { pops: 1, pushes: 0, writes: local } : { pops: 1, pushes: 1, writes: local };
  } else if (opcode === 0x23) {
    reader.u32();
    info = { pops: 0, pushes: 1, loads: true };
  } else if (opcode === 0x24) {
    reader.u32();
    info = { pops: 1, pushes: 0, effect: true };
  } else if (opcode === 0x25 || opcode === 0x26) reader.u32();
  else if (opcode >= 0x28 && opcode <= 0x3e) {
    reader.memarg();
    info = opcode <= 0x35 ? { pops: 1, pushes: 1, loads: true } : { pops: 2, pushes: 0, effect: true };
  } else if (opcode === 0x3f || opcode === 0x40) reader.skip(1);
  else if (opcode === 0x41 || opcode === 0x42) {
    reader.signed();
    info = { pops: 0, pushes: 1 };
  } else if (opcode === 0x43 || opcode === 0x44) {
    reader.skip(opcode === 0x43 ? 4 : 8);
    info = { pops: 0, pushes: 1 };
  } else if (opcode >= 0x45 && opcode <= 0xc4) info = { pops: numericArity(opcode), pushes: 1 };
  else if (opcode === 0xd0) reader.skip(1);
  else if (opcode === 0xfc) {
    const sub = reader.u32();
    if (sub <= 7) info = { pops: 1, pushes: 1 };
    else if (sub === 8) {
      reader.u32();
      reader.skip(1);
    } else if (sub === 9 || sub === 13 || sub === 15 || sub === 16 || sub === 17) reader.u32();
    else if (sub === 10) reader.skip(2);
    else if (sub === 11) reader.skip(1);
    else if (sub === 12 || sub === 14) {
      reader.u32();
      reader.u32();
    }
  } else if (opcode === SIMD_PREFIX) {
    const sub = reader.u32();
    if (sub <= 0x0b || sub === 0x5c || sub === 0x5d) reader.memarg();
    else if (sub === 0x0c || sub === 0x0d) reader.skip(16);
    else if (sub >= 0x15 && sub <= 0x22) reader.skip(1);
    else if (sub >= 0x54 && sub <= 0x5b) {
      reader.memarg();
      reader.skip(1);
    }
    const arity = simdArity(sub);
    info = arity ? { pushes: 1, ...arity, simd: sub } : { pops: null, pushes: 1, simd: sub };
  } else if (opcode === 0xfe) {
    const sub = reader.u32();
    if (sub === 0x03) reader.skip(1);
    else reader.memarg();
  }
  // Everything not given an effect above (control flow, calls, tables, atomics, …) forgets the stack.
  return { bytes: reader.bytes.subarray(start, reader.position), ...info };
}

/**
 * A value on the modelled stack: produced by instructions `start..end` (inclusive), with what
 * that run reads and does.
 * @typedef {{ start: number, end: number, reads: Set<number>, writes: Set<number>, loads: boolean, effect: boolean }} Value
 */

function produced(instruction, index, operands) {
  /** @type {Value} */
  const value = { start: operands.length ? operands[0].start : index, end: index, reads: new Set(), writes: new Set(), loads: !!instruction.loads, effect: !!instruction.effect };
  for (const operand of operands) {
    operand.reads.forEach((local) => value.reads.add(local));
    operand.writes.forEach((local) => value.writes.add(local));
    value.loads ||= operand.loads;
    value.effect ||= operand.effect;
  }
  if (instruction.reads !== undefined) value.reads.add(instruction.reads);
  if (instruction.writes !== undefined) value.writes.add(instruction.writes);
  return value;
}

/** True when `moved` may run after `others` instead of before them. */
function canMoveAfter(moved, others) {
  if (moved.effect || moved.writes.size > 0) return false;
  return others.every((other) => !other.effect && ![...other.writes].some((local) => moved.reads.has(local)));
}

/**
 * Rewrites one function body's instructions in place; returns how many multiplies were fused.
 * @param {Instruction[]} code
 */
function fuse(code) {
  /** @type {Value[]} */
  let stack = [];
  let fused = 0;
  for (let i = 0; i < code.length; i++) {
    const instruction = code[i];
    if (instruction.pops === null || instruction.pops > stack.length) {
      stack = [];
      continue;
    }
    const operands = stack.splice(stack.length - instruction.pops, instruction.pops);
    const isAdd = instruction.simd === F32X4_ADD;
    const isSub = instruction.simd === F32X4_SUB;
    if ((isAdd || isSub) && operands.length === 2) {
      const [left, right] = operands;
      const mulAt = (value) => code[value.end].simd === F32X4_MUL;
      if (isAdd && mulAt(left)) {
        // [a][b] mul [c] add -> [a][b][c] madd: drop the mul, nothing moves.
        code.splice(left.end, 1);
        i--;
        right.start--;
        right.end--;
        code[i] = { bytes: simd(RELAXED_MADD), pops: 3, pushes: 1, simd: RELAXED_MADD };
        stack.push(produced(code[i], i, [left, right]));
        stack[stack.length - 1].start = left.start;
        fused++;
        continue;
      }
      if (mulAt(right) && right.end === i - 1) {
        // [c][a][b] mul add|sub -> [a][b][c] madd|nmadd when c can move past a and b.
        const factors = mulFactors(code, right);
        if (factors && canMoveAfter(left, factors)) {
          const moved = code.slice(left.start, left.end + 1);
          const product = code.slice(left.end + 1, right.end); // a and b, without the mul
          const opcode = isAdd ? RELAXED_MADD : RELAXED_NMADD;
          const replacement = [...product, ...moved, { bytes: simd(opcode), pops: 3, pushes: 1, simd: opcode }];
          code.splice(left.start, i - left.start + 1, ...replacement);
          i = left.start + replacement.length - 1;
          const value = produced(code[i], i, [left, right]);
          value.start = left.start;
          stack.push(value);
          fused++;
          continue;
        }
      }
    }
    for (let pushed = 0; pushed < instruction.pushes; pushed++) stack.push(produced(instruction, i, operands));
  }
  return fused;
}

/**
 * The two factor values of the mul that ends `product`, re-derived by modelling its run, or
 * null when they cannot be told apart.
 * @param {Instruction[]} code
 * @param {Value} product
 * @returns {Value[] | null}
 */
function mulFactors(code, product) {
  /** @type {Value[]} */
  const stack = [];
  for (let i = product.start; i < product.end; i++) {
    const instruction = code[i];
    if (instruction.pops === null || instruction.pops > stack.length) return null;
    const operands = stack.splice(stack.length - instruction.pops, instruction.pops);
    for (let pushed = 0; pushed < instruction.pushes; pushed++) stack.push(produced(instruction, i, operands));
  }
  return stack.length === 2 ? stack : null;
}

/**
 * Rewrites a whole module. Returns the new bytes and what was done.
 * @param {Uint8Array} bytes
 */
export function relaxModule(bytes) {
  const reader = new Reader(bytes, 8);
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('relaxed-simd: not a WebAssembly module');
  const parts = [bytes.subarray(0, 8)];
  let fused = 0;
  let functions = 0;
  while (reader.position < bytes.length) {
    const sectionStart = reader.position;
    const id = reader.byte();
    const size = reader.u32();
    const contentStart = reader.position;
    const contentEnd = contentStart + size;
    if (id !== 10) {
      parts.push(bytes.subarray(sectionStart, contentEnd));
      reader.position = contentEnd;
      continue;
    }
    const count = reader.u32();
    const bodies = [];
    for (let f = 0; f < count; f++) {
      const bodySize = reader.u32();
      const bodyEnd = reader.position + bodySize;
      const localsStart = reader.position;
      const groups = reader.u32();
      for (let g = 0; g < groups; g++) {
        reader.u32();
        reader.skip(1);
      }
      const locals = bytes.subarray(localsStart, reader.position);
      /** @type {Instruction[]} */
      const code = [];
      while (reader.position < bodyEnd) code.push(decode(reader));
      if (reader.position !== bodyEnd) throw new Error(`relaxed-simd: function ${f} decoded past its end`);
      const fusedHere = fuse(code);
      fused += fusedHere;
      if (fusedHere > 0) functions++;
      const body = concat([locals, ...code.map((instruction) => instruction.bytes)]);
      bodies.push(Uint8Array.from(leb(body.length)), body);
    }
    const content = concat([Uint8Array.from(leb(count)), ...bodies]);
    parts.push(Uint8Array.from([10, ...leb(content.length)]), content);
    reader.position = contentEnd;
  }
  return { bytes: concat(parts), fused, functions };
}

function concat(arrays) {
  const out = new Uint8Array(arrays.reduce((total, array) => total + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

/** True when this runtime validates relaxed-SIMD instructions. */
export function hasRelaxedSimd() {
  // () -> v128: v128.const 0 three times, f32x4.relaxed_madd, end.
  const constant = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...constant, ...constant, ...constant, 0xfd, ...leb(RELAXED_MADD), 0x0b];
  const code = [0x01, ...leb(body.length), ...body];
  const module = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, ...leb(code.length), ...code]);
  return WebAssembly.validate(module);
}

function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: node scripts/relaxed-simd.mjs <input.wasm> <output.wasm>');
    process.exit(2);
  }
  const original = readFileSync(input);
  if (!WebAssembly.validate(original)) throw new Error(`relaxed-simd: ${input} is not a valid module here`);
  const { bytes, fused, functions } = relaxModule(original);
  writeFileSync(output, bytes);
  const validation = hasRelaxedSimd()
    ? WebAssembly.validate(bytes)
      ? 'valid'
      : 'INVALID'
    : `not validated (${process.version} has no relaxed SIMD; Node ≥ 22 does)`;
  console.log(`gradlab: wrote ${output}: ${fused} multiply-adds fused in ${functions} functions, ${(bytes.length / 1024).toFixed(0)} KiB, ${validation}`);
  if (validation === 'INVALID') process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
