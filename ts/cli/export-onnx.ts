/**
 * `gradlab export onnx <spec.json> --weights <file.safetensors> --out <model.onnx>`: the model
 * that `spec.json` describes, with the weights of a gradlab (or PyTorch) safetensors file, as an
 * ONNX file for inference (see ts/export/onnx.ts). A mistake on the command line is one line on
 * stderr and exit code 2; a spec or weights file that does not fit is the GradlabError's
 * message, naming the field or entry, and exit code 1.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { GradlabError } from '../runtime/errors.js';
import { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, exportOnnxFromStateDict } from '../export/onnx.js';
import { decodeSafetensors } from '../model/safetensors.js';
import type { ModelSpec } from '../model/spec.js';

export const USAGE = 'usage: gradlab export onnx <spec.json> --weights <file.safetensors> --out <model.onnx>';

function usageError(message: string): number {
  process.stderr.write(`gradlab export onnx: ${message} (${USAGE})\n`);
  return 2;
}

function failure(message: string): number {
  process.stderr.write(`gradlab export onnx: ${message}\n`);
  return 1;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `export onnx` on the arguments after `onnx`; resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { weights: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    return usageError(reason(error));
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) return usageError(`expected one spec file, got ${positionals.length} arguments`);
  if (values.weights === undefined) return usageError('--weights <file.safetensors> is required');
  if (values.out === undefined) return usageError('--out <model.onnx> is required');
  const [specPath] = positionals;

  let spec: ModelSpec;
  let weights: Uint8Array;
  try {
    spec = JSON.parse(await readFile(specPath, 'utf8')) as ModelSpec;
  } catch (error) {
    return failure(`cannot read the spec ${specPath}: ${reason(error)}`);
  }
  try {
    weights = await readFile(values.weights);
  } catch (error) {
    return failure(`cannot read the weights ${values.weights}: ${reason(error)}`);
  }
  let onnx: Uint8Array;
  try {
    onnx = await exportOnnxFromStateDict(spec, decodeSafetensors(weights));
  } catch (error) {
    if (error instanceof GradlabError) return failure(error.message);
    throw error;
  }
  try {
    await writeFile(values.out, onnx);
  } catch (error) {
    return failure(`cannot write ${values.out}: ${reason(error)}`);
  }
  process.stdout.write(`gradlab: wrote ${values.out} (${onnx.length} bytes, ONNX opset ${ONNX_OPSET}): input '${ONNX_INPUT}' [batch, ${spec.input.join(', ')}], output '${ONNX_OUTPUT}'\n`);
  return 0;
}
