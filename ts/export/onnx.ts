/**
 * Export to ONNX, for inference where people deploy models (ONNX Runtime in browsers, Node,
 * servers): the graph computes what `model.predict` computes, input `x` [batch, ...input],
 * output `y` [batch, ...output], batch symbolic, opset {@link ONNX_OPSET}, the weights as
 * initializers (dense and BatchNorm under their state-dict names). Every layer kind has an
 * ONNX form (see onnx/layers.ts and onnx/recurrent.ts), so every model exports; the loss,
 * optimiser and training-only settings (clipping, BPTT truncation) do not enter a graph for
 * inference. The weights are stored inside the file: gradlab's parameter limit (2^26 values,
 * 256 MiB) keeps every model far below protobuf's 2 GiB, past which ONNX needs external data.
 */
import { describe, invalidArgument } from '../runtime/errors.js';
import { Model, createModel } from '../model/model.js';
import type { TensorLike } from '../model/types.js';
import type { ModelSpec } from '../model/spec.js';
import type { WasmSource } from '../runtime/wasm.js';
import { ONNX_OPSET, OnnxGraph } from './onnx/graph.js';
import { sequence } from './onnx/layers.js';
import { EXPORT_OP } from './onnx/state.js';

export { ONNX_OPSET };

/** The ONNX graph's input and output names. */
export const ONNX_INPUT = 'x';
export const ONNX_OUTPUT = 'y';

/**
 * The ONNX model (protobuf bytes, as an `.onnx` file holds them) of `model` with its current
 * weights and BatchNorm running statistics. Running it in ONNX Runtime gives what
 * `model.predict` gives, to float32 rounding.
 */
export function exportOnnx(model: Model): Uint8Array {
  if (!(model instanceof Model)) invalidArgument(EXPORT_OP, 'model', 'a Model (from createModel)', describe(model));
  const graph = new OnnxGraph(ONNX_INPUT, ONNX_OUTPUT);
  const output = sequence({ graph, state: model.stateDict() }, model.spec.layers, '', { value: ONNX_INPUT, dims: [...model.inputShape] });
  return graph.encode(output.value, model.inputShape, model.outputShape, { name: 'gradlab', docString: JSON.stringify(model.spec) });
}

/**
 * {@link exportOnnx} for a spec and a state dict (e.g. decoded from a safetensors file): the
 * dict must match the spec's entries exactly, or a `GradlabError` names the first entry that
 * is missing, unknown or of the wrong shape.
 */
export async function exportOnnxFromStateDict(spec: ModelSpec, dict: Record<string, TensorLike>, options: { wasm?: WasmSource } = {}): Promise<Uint8Array> {
  const model = await createModel(spec, { wasm: options.wasm });
  try {
    model.loadStateDict(dict);
    return exportOnnx(model);
  } finally {
    model.dispose();
  }
}
