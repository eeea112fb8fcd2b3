/**
 * The import graph of the library, its worker entry and the lab against .dependency-cruiser.cjs
 * (dependency-cruiser, TypeScript imports including type-only ones): no cycle, no arrow from a
 * lower folder of ts/ to a higher one, the lab on the public API only. The rules are also run
 * on a copy of ts/ with a cycle put in, to show they fail when they should.
 */
import { appendFileSync, cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The rule violations of cruising `roots` under `baseDir` with the repository's rules. */
async function violations(baseDir: string, roots: string[]): Promise<{ violations: IViolation[]; modules: number }> {
  const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
  const tsConfig = extractTSConfig(join(baseDir, 'tsconfig.json'));
  const { output } = await cruise(roots, { ...options, baseDir, validate: true, tsConfig: { fileName: join(baseDir, 'tsconfig.json') } }, undefined, { tsConfig });
  if (typeof output === 'string') throw new Error(`dependency-cruiser returned text: ${output}`);
  return { violations: output.summary.violations, modules: output.modules.length };
}

const describeViolation = ({ rule, from, to, cycle }: IViolation) => `${rule.name}: ${from} → ${to}${cycle ? ` (cycle ${cycle.map((step) => step.name).join(' → ')})` : ''}`;

/** A copy of the library (ts/, workers/, the generated glue) in a temporary directory, with `edits` appended to files. */
function libraryCopy(edits: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradlab-layers-'));
  for (const entry of ['ts', 'workers', 'pkg', 'tsconfig.json']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  for (const [file, line] of Object.entries(edits)) appendFileSync(join(dir, file), `\n${line}\n`);
  return dir;
}

describe('the import graph', () => {
  it('of ts/, workers/ and the lab has no cycle and no arrow upwards', async () => {
    const { violations: found, modules } = await violations(ROOT, ['ts', 'workers', 'lab/src', 'lab/web']);
    expect(found.map(describeViolation)).toEqual([]);
    // The whole graph was read (28 library files, the lab's, the glue, packages): an empty cruise would pass too.
    expect(modules).toBeGreaterThan(60);
  });

  it('fails on a cycle inside a folder', async () => {
    const dir = libraryCopy({ 'ts/model/batches.ts': "import './training.js';" });
    const { violations: found } = await violations(dir, ['ts', 'workers']);
    expect(found.map((v) => v.rule.name)).toEqual(['no-circular']);
    expect(found[0].cycle?.map((step) => step.name)).toEqual(['ts/model/training.ts', 'ts/model/batches.ts']);
  });

  it('fails on an arrow from a lower folder to a higher one, and on the cycle it closes', async () => {
    const dir = libraryCopy({ 'ts/runtime/errors.ts': "import type { ModelSpec } from '../model/spec.js';\nexport type Named = ModelSpec;" });
    const { violations: found } = await violations(dir, ['ts', 'workers']);
    const rules = new Set(found.map((v) => v.rule.name));
    expect([...rules].sort()).toEqual(['no-circular', 'runtime-imports-only-lower-folders']);
    expect(found.find((v) => v.rule.name === 'runtime-imports-only-lower-folders')).toMatchObject({ from: 'ts/runtime/errors.ts', to: 'ts/model/spec.ts' });
  });
});
