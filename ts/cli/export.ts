/**
 * `gradlab export torch <spec.json> --out DIR [--weights FILE.safetensors]`: writes the PyTorch
 * project of {@link exportTorch} into DIR (model.py, train.py, spec.json and, with --weights,
 * weights.safetensors checked against the spec).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GradlabError } from '../runtime/errors.js';
import { exportTorch } from '../export/torch.js';
import { decodeSafetensors } from '../model/safetensors.js';
import type { ModelSpec } from '../model/spec.js';

export const EXPORT_USAGE = `usage: gradlab export torch <spec.json> --out DIR [--weights FILE.safetensors]
       gradlab export onnx <spec.json> --weights FILE.safetensors --out MODEL.onnx

  torch   DIR/model.py (the network as a torch.nn.Module, gradlab's loss, optimiser, clipping
          and L1/L2), DIR/train.py (DistributedDataParallel under torchrun), DIR/spec.json, and
          with --weights, DIR/weights.safetensors (train.py starts from it)
  onnx    the model with those weights as an ONNX file for inference (input x, output y)`;

/** A command line that does not say what to do; `run` prints it with the usage (exit code 2). */
class UsageError extends Error {}

interface TorchArgs {
  specPath: string;
  out: string;
  weights?: string;
}

function parseTorchArgs(argv: string[]): TorchArgs {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out' || arg === '--weights') {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      options[arg.slice(2)] = value;
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) throw new UsageError(`expected one spec file, got ${positional.length}`);
  if (options.out === undefined) throw new UsageError('--out DIR is required');
  return { specPath: positional[0], out: options.out, weights: options.weights };
}

async function exportTorchFiles({ specPath, out, weights }: TorchArgs): Promise<void> {
  let spec: ModelSpec;
  try {
    spec = JSON.parse(await readFile(specPath, 'utf8')) as ModelSpec;
  } catch (error) {
    throw new UsageError(`${specPath}: not a readable JSON spec (${(error as Error).message})`);
  }
  const state = weights === undefined ? undefined : decodeSafetensors(new Uint8Array(await readFile(weights)));
  const { files } = await exportTorch(spec, { weights: state });
  await mkdir(out, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(out, name), content);
  process.stdout.write(`gradlab: wrote ${Object.keys(files).map((name) => join(out, name)).join(', ')}\n`);
  process.stdout.write(`  train: torchrun --standalone --nproc_per_node 2 ${join(out, 'train.py')} --x x.npy --y y.npy --epochs 1 --batch-size 32\n`);
}

/**
 * Runs `gradlab export <format> …` (`argv` after `export`) and returns the exit code: 0 done
 * (or `--help`), 1 a `GradlabError` (printed: the spec or weights do not fit), 2 a bad
 * command line.
 */
export async function run(argv: string[]): Promise<number> {
  const [format, ...rest] = argv;
  if (format === 'onnx') return (await import('./export-onnx.js')).run(rest);
  if (format === '--help' || format === '-h' || rest.includes('--help')) {
    process.stdout.write(`${EXPORT_USAGE}\n`);
    return 0;
  }
  try {
    if (format === 'torch') {
      await exportTorchFiles(parseTorchArgs(rest));
      return 0;
    }
    throw new UsageError(format === undefined ? 'which format? (torch or onnx)' : `unknown format ${format}`);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gradlab export: ${error.message}\n\n${EXPORT_USAGE}\n`);
      return 2;
    }
    if (error instanceof GradlabError) {
      process.stderr.write(`gradlab export: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
