/**
 * gradlab.wasm really runs SIMD128: the code section holds f32x4 arithmetic (0xFD-prefixed
 * opcodes), the sgemm micro-kernel's shape (broadcast loads of A beside f32x4 multiplies) is
 * in one function body, and the instance reports SIMD as enabled. A build without
 * `+simd128` would pass every numeric test on the scalar twin; this one fails it.
 */
import { readFileSync, statSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, simdEnabled } from '../../dist/ts/index.js';

const CODE_SECTION = 10;
/** SIMD opcodes after the 0xFD prefix (LEB128 u32), from the WebAssembly SIMD spec. */
const OPCODES = {
  'v128.load32_splat': 0x09,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7,
} as const;
type Opcode = keyof typeof OPCODES;

/** Reads an unsigned LEB128 number at `offset`; returns it and the offset after it. */
function leb128(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, offset];
    shift += 7;
  }
}

/** The payload of each section, by id. */
function sections(bytes: Uint8Array): Map<number, Uint8Array> {
  expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
  const found = new Map<number, Uint8Array>();
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset];
    const [size, start] = leb128(bytes, offset + 1);
    found.set(id, bytes.subarray(start, start + size));
    offset = start + size;
  }
  return found;
}

/** The body of every function in the code section. */
function functionBodies(code: Uint8Array): Uint8Array[] {
  const [count, first] = leb128(code, 0);
  const bodies: Uint8Array[] = [];
  let offset = first;
  for (let i = 0; i < count; i++) {
    const [size, start] = leb128(code, offset);
    bodies.push(code.subarray(start, start + size));
    offset = start + size;
  }
  return bodies;
}

/** How often each SIMD opcode's byte sequence (0xFD, LEB128 opcode) occurs in `body`. */
function countOpcodes(body: Uint8Array): Record<Opcode, number> {
  const counts = Object.fromEntries(Object.keys(OPCODES).map((name) => [name, 0])) as Record<Opcode, number>;
  for (let i = 0; i + 1 < body.length; i++) {
    if (body[i] !== 0xfd) continue;
    const [opcode] = leb128(body, i + 1);
    for (const [name, value] of Object.entries(OPCODES) as [Opcode, number][]) {
      if (opcode === value) counts[name]++;
    }
  }
  return counts;
}

describe('gradlab.wasm SIMD128', () => {
  const bytes = new Uint8Array(readFileSync(new URL('../../dist/pkg/gradlab_bg.wasm', import.meta.url)));
  const code = sections(bytes).get(CODE_SECTION);

  beforeAll(async () => {
    await init();
  });

  it('has a code section full of f32x4 arithmetic', () => {
    expect(code).toBeDefined();
    const total = countOpcodes(code!);
    expect(total['f32x4.mul']).toBeGreaterThan(100);
    expect(total['f32x4.add']).toBeGreaterThan(100);
    expect(total['f32x4.div']).toBeGreaterThan(0);
  });

  it('has a function shaped like the sgemm micro-kernel', () => {
    // 4×8 tile: 4 broadcasts of A and 8 multiply-adds per step, in one body.
    const kernels = functionBodies(code!).map(countOpcodes).filter((counts) => counts['v128.load32_splat'] >= 4 && counts['f32x4.mul'] >= 8);
    expect(kernels.length).toBeGreaterThan(0);
  });

  it('reports SIMD as enabled', () => {
    expect(simdEnabled()).toBe(true);
  });
});

describe('the shipped WebAssembly', () => {
  it('is under 600 KB, the .wasm and its glue together', () => {
    const size = (file: string) => statSync(new URL(`../../dist/pkg/${file}`, import.meta.url)).size;
    expect(size('gradlab_bg.wasm') + size('gradlab.js')).toBeLessThan(600_000);
  });
});
