/**
 * The lab CLI's command line: parsing `gradlab lab [experiment…] [options]` into
 * {@link LabOptions}, and making sure the output directory can be written before anything runs.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EXPERIMENT_NAMES, type ExperimentName } from './experiment.js';

export const USAGE = `usage: gradlab lab [experiment…] [options]

experiments: ${EXPERIMENT_NAMES.join(', ')} (default: all)

options:
  --quick        a reduced version of everything (under a minute on 2 cores)
  --seed N       seed of every run (default 1)
  --json         print one JSON document per experiment to stdout, nothing else
  --out DIR      write report.html and one JSON file per experiment into DIR
  --workers N    worker threads (default: the number of cores)
  -h, --help     this message`;

export interface LabOptions {
  names: ExperimentName[];
  quick: boolean;
  seed: number;
  json: boolean;
  out?: string;
  workers: number;
}

/** A mistake on the command line: reported in one line with exit code 2. */
export class UsageError extends Error {}

export function parseArgs(argv: string[]): LabOptions | 'help' {
  const args = [...argv];
  if (args[0] === '-h' || args[0] === '--help') return 'help';
  if (args.shift() !== 'lab') throw new UsageError("the first argument must be the command 'lab'");
  const options: LabOptions = { names: [], quick: false, seed: 1, json: false, workers: availableParallelism() };
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const integer = (flag: string, min: number): number => {
    const text = value(flag);
    // Digits only: Number('') is 0, and Number also takes ' 7', '0x10' and '1e3'.
    const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got '${text}'`);
    return n;
  };
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--quick') options.quick = true;
    else if (arg === '--json') options.json = true;
    else if (arg === '--seed') options.seed = integer('--seed', 0);
    else if (arg === '--workers') options.workers = integer('--workers', 1);
    else if (arg === '--out') options.out = value('--out');
    else if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}'`);
    else if ((EXPERIMENT_NAMES as readonly string[]).includes(arg)) options.names.push(arg as ExperimentName);
    else throw new UsageError(`unknown experiment '${arg}' (experiments: ${EXPERIMENT_NAMES.join(', ')})`);
  }
  if (options.names.length === 0) options.names = [...EXPERIMENT_NAMES];
  return options;
}

/** The message of `error`, for a one-line usage error. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the output directory and proves it writable before any experiment runs, so a bad
 * `--out` fails at once, not after the whole lab. It creates one level at a time: Node's
 * recursive mkdir spins forever on procfs (`--out /proc/x/y`); and it writes a probe file,
 * because a check of the permission bits passes for root on read-only file systems.
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

