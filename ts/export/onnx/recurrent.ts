/**
 * `rnn` and `lstm` as ONNX's RNN and LSTM operators (forward, zero initial state, tanh and
 * sigmoid as gradlab's cells use them). Three things differ from gradlab's layout:
 *
 * - Gate order. gradlab (as PyTorch) stacks the LSTM's gate rows i, f, g, o
 *   (crates/core/src/nn/lstm_cell.rs); ONNX stacks i, o, f, c (c is g, the cell candidate).
 * - Weights. ONNX takes W = weight_ih [1, G·H, I], R = weight_hh [1, G·H, H] and one bias
 *   B = [bias_ih, bias_hh] [1, 2·G·H], with a leading axis for the direction.
 * - Layout. ONNX Runtime implements only time-major sequences (`layout` 0): [time, batch, ·]
 *   in, Y [time, 1, batch, H] and Y_h [1, batch, H] out. gradlab is batch-first, so the input
 *   is transposed in, and the output transposed (every step) or squeezed (the last) back.
 */
import type { RecurrentSpec } from '../../model/spec.js';
import { parameter, type ExportContext, type Flow } from './state.js';

/** For each of ONNX's gate blocks i, o, f, c: the index of the same gate in gradlab's i, f, g, o. */
const LSTM_GATES_FROM_GRADLAB = [0, 3, 1, 2];
const RNN_GATES = [0];

/** `values` as blocks of `blockLength` (one gate's rows), reordered by `order`. */
function reorderGates(values: Float32Array, order: readonly number[], blockLength: number): Float32Array {
  const reordered = new Float32Array(values.length);
  order.forEach((source, target) => reordered.set(values.subarray(source * blockLength, (source + 1) * blockLength), target * blockLength));
  return reordered;
}

export function recurrent(context: ExportContext, spec: RecurrentSpec, name: string, input: Flow): Flow {
  const { graph } = context;
  const [steps, inputs] = input.dims;
  const units = spec.units;
  const order = spec.type === 'lstm' ? LSTM_GATES_FROM_GRADLAB : RNN_GATES;
  const rows = order.length * units;
  const gates = (entry: string, shape: number[], blockLength: number) => reorderGates(parameter(context, `${name}.${entry}`, shape).data, order, blockLength);
  const w = graph.weight(`${name}.W`, [1, rows, inputs], gates('weight_ih', [rows, inputs], units * inputs));
  const r = graph.weight(`${name}.R`, [1, rows, units], gates('weight_hh', [rows, units], units * units));
  const biases = new Float32Array(2 * rows);
  biases.set(gates('bias_ih', [rows], units), 0);
  biases.set(gates('bias_hh', [rows], units), rows);
  const b = graph.weight(`${name}.B`, [1, 2 * rows], biases);

  const timeMajor = { perm: { ints: [1, 0, 2] } };
  const sequence = graph.op(name, 'Transpose', [input.value], timeMajor);
  const [everyStep, last] = graph.node(name, spec.type === 'lstm' ? 'LSTM' : 'RNN', [sequence, w, r, b], { hidden_size: { int: units } }, 2);
  if (spec.returnSequences === true) {
    const steps3d = graph.op(name, 'Squeeze', [everyStep, graph.int64s([1])]);
    return { value: graph.op(name, 'Transpose', [steps3d], timeMajor), dims: [steps, units] };
  }
  return { value: graph.op(name, 'Squeeze', [last, graph.int64s([0])]), dims: [units] };
}
