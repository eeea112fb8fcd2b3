/**
 * An output directory (`--out DIR`) made ready before a long run, so a bad one fails at once
 * rather than after minutes of training. The same rule as the lab's (lab/src/options.ts):
 * the lab is a package of its own that sees only gradlab's public API, so it keeps its copy.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './usage-error.js';

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates `out` one level at a time (Node's recursive mkdir spins forever on procfs, e.g.
 * `--out /proc/x/y`) and writes a probe file into it (a check of the permission bits passes
 * for root on read-only file systems). Resolves to the absolute path.
 */
export async function prepareOutput(out: string): Promise<string> {
  const dir = resolve(out);
  const missing: string[] = [];
  for (let path = dir; ; path = dirname(path)) {
    try {
      if (!(await stat(path)).isDirectory()) throw new UsageError(`--out: '${path}' is not a directory`);
      break;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw new UsageError(`--out: cannot use '${path}': ${reason(error)}`);
      missing.unshift(path);
    }
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (error) {
      throw new UsageError(`--out: cannot create '${path}': ${reason(error)}`);
    }
  }
  const probe = join(dir, `.gradlab-write-probe-${process.pid}`);
  try {
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw new UsageError(`--out: cannot write into '${dir}': ${reason(error)}`);
  }
  return dir;
}
