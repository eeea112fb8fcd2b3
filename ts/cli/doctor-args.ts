/**
 * The command line of `gradlab doctor`, parsed into {@link DoctorArgs}. A mistake is a
 * {@link UsageError}: one line on stderr, exit code 2.
 */
import { UsageError } from './usage-error.js';

export const DOCTOR_USAGE = `usage: gradlab doctor <spec.json> --data <source> [options]

  <spec.json>          the model spec (JSON) of the network to diagnose
  --data <source>      a data file (.csv, .npy, .npz, .safetensors) or a built-in source:
                       mnist (1,000 digits), mnist:N (N per digit), adding:T, firstSymbol:T
  --labels <file>      the labels in a file of their own (.csv, .npy, .npz, .safetensors)
  --label-column C     CSV: the label column, an index (negative from the end) or a header
                       name (default: the last column)
  --json               print the report as one JSON document on stdout, nothing else
  --out DIR            write DIR/doctor.html (the pictures) and DIR/doctor.json
  --seed N             seed of the weights, the shuffling and the generated data (default 0)
  --steps N            training steps of every run (default: diagnose's, 300)
  --no-trials          diagnose only; do not try the remedies
  -h, --help           this message`;

export interface DoctorArgs {
  specPath: string;
  data: string;
  labels?: string;
  labelColumn?: number | string;
  json: boolean;
  out?: string;
  seed: number;
  steps?: number;
  trials: boolean;
}

/** Digits only: `Number('')` is 0, and `Number` also takes `' 7'`, `'0x10'` and `'1e3'`. */
function integer(flag: string, text: string, min: number): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return n;
}

/** Parses the arguments after `doctor`; `'help'` for `-h`/`--help`. */
export function parseDoctorArgs(argv: readonly string[]): DoctorArgs | 'help' {
  const args = [...argv];
  const positional: string[] = [];
  const parsed: Partial<DoctorArgs> & { json: boolean; seed: number; trials: boolean } = { json: false, seed: 0, trials: true };
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--data') parsed.data = value(arg);
    else if (arg === '--labels') parsed.labels = value(arg);
    else if (arg === '--label-column') {
      const text = value(arg);
      parsed.labelColumn = /^-?[0-9]+$/.test(text) ? Number(text) : text;
    } else if (arg === '--json') parsed.json = true;
    else if (arg === '--out') parsed.out = value(arg);
    else if (arg === '--seed') parsed.seed = integer(arg, value(arg), 0);
    else if (arg === '--steps') parsed.steps = integer(arg, value(arg), 1);
    else if (arg === '--no-trials') parsed.trials = false;
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option '${arg}'`);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new UsageError(positional.length === 0 ? 'missing <spec.json>' : `one spec file expected, got ${positional.length}: ${positional.join(' ')}`);
  if (parsed.data === undefined) throw new UsageError('missing --data <source>');
  return { ...parsed, specPath: positional[0], data: parsed.data };
}
