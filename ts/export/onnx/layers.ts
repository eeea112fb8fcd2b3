/**
 * One graph builder per layer kind, each appending the ONNX nodes that compute what gradlab's
 * layer computes in inference (`predict`): on a per-example input of shape `dims`, behind a
 * batch axis that stays symbolic.
 */
import type { Activation, BatchNormSpec, DenseSpec, LayerSpec, ResidualSpec } from '../../model/spec.js';
import type { Attribute } from './graph.js';
import { recurrent } from './recurrent.js';
import { features, filledIn, parameter, type ExportContext, type Flow } from './state.js';

/** The activation `fn` of layer `scope` (identity adds nothing); PReLU's slope is `<scope>.alpha`. */
function activation(context: ExportContext, fn: Activation, scope: string, input: Flow): Flow {
  const { graph } = context;
  const apply = (opType: string, attributes: Record<string, Attribute> = {}) => ({ value: graph.op(scope, opType, [input.value], attributes), dims: input.dims });
  if (typeof fn === 'string') {
    switch (fn) {
      case 'identity':
        return input;
      case 'sigmoid':
        return apply('Sigmoid');
      case 'tanh':
        return apply('Tanh');
      case 'relu':
        return apply('Relu');
      case 'softmax':
        // Over the last axis, as gradlab's softmax (per example row, per time step).
        return apply('Softmax', { axis: { int: -1 } });
    }
  }
  switch (fn.type) {
    case 'leakyRelu':
      return apply('LeakyRelu', { alpha: { float: filledIn(fn.alpha, scope, 'alpha') } });
    case 'elu':
      return apply('Elu', { alpha: { float: filledIn(fn.alpha, scope, 'alpha') } });
    case 'prelu': {
      // The learned slope, one per layer: shape [1] broadcasts over every axis.
      const name = `${scope}.alpha`;
      const slope = graph.weight(name, [1], parameter(context, name, [1]).data);
      return { value: graph.op(scope, 'PRelu', [input.value, slope]), dims: input.dims };
    }
  }
}

/**
 * `y = f(x·Wᵀ + b)` as Gemm with `transB`, so W keeps PyTorch's [out, in] layout and name. On
 * a sequence [time, in] Gemm sees every (example, step) row: Flatten before, Reshape after.
 */
function dense(context: ExportContext, spec: DenseSpec, name: string, input: Flow): Flow {
  const { graph } = context;
  const inFeatures = features(input.dims);
  const weight = graph.weight(`${name}.weight`, [spec.units, inFeatures], parameter(context, `${name}.weight`, [spec.units, inFeatures]).data);
  const bias = spec.bias === false ? [] : [graph.weight(`${name}.bias`, [spec.units], parameter(context, `${name}.bias`, [spec.units]).data)];
  const dims = [...input.dims.slice(0, -1), spec.units];
  const sequence = input.dims.length > 1;
  const rows = sequence ? graph.op(name, 'Flatten', [input.value], { axis: { int: input.dims.length } }) : input.value;
  let value = graph.op(name, 'Gemm', [rows, weight, ...bias], { transB: { int: 1 } });
  if (sequence) value = graph.op(name, 'Reshape', [value, graph.int64s([-1, ...dims])]);
  return activation(context, spec.activation ?? 'identity', name, { value, dims });
}

/**
 * Inference BatchNorm1d over the last axis with the running statistics and the layer's eps.
 * ONNX normalises axis 1, so a sequence [time, features] is transposed to [features, time]
 * and back.
 */
function batchnorm(context: ExportContext, spec: BatchNormSpec, name: string, input: Flow): Flow {
  const { graph } = context;
  const shape = [features(input.dims)];
  const [scale, bias, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((entry) => graph.weight(`${name}.${entry}`, shape, parameter(context, `${name}.${entry}`, shape).data));
  const sequence = input.dims.length > 1;
  const perm = { perm: { ints: [0, 2, 1] } };
  const channels = sequence ? graph.op(name, 'Transpose', [input.value], perm) : input.value;
  const normalized = graph.op(name, 'BatchNormalization', [channels, scale, bias, mean, variance], { epsilon: { float: filledIn(spec.eps, name, 'eps') } });
  return { value: sequence ? graph.op(name, 'Transpose', [normalized], perm) : normalized, dims: input.dims };
}

/** `y = x + f(x)`: the body's layers, then Add (the body keeps the shape; the spec checks that). */
function residual(context: ExportContext, spec: ResidualSpec, name: string, input: Flow): Flow {
  const body = sequence(context, spec.layers, name, input);
  return { value: context.graph.op(name, 'Add', [input.value, body.value]), dims: input.dims };
}

function layer(context: ExportContext, spec: LayerSpec, name: string, input: Flow): Flow {
  switch (spec.type) {
    case 'dense':
      return dense(context, spec, name, input);
    case 'activation':
      return activation(context, spec.activation, name, input);
    case 'batchnorm':
      return batchnorm(context, spec, name, input);
    case 'residual':
      return residual(context, spec, name, input);
    case 'rnn':
    case 'lstm':
      return recurrent(context, spec, name, input);
  }
}

/**
 * A chain of layers named as the core names them (DESIGN.md, "Parameter names"): a layer's
 * own `name` or its index, after the enclosing layer's name and a dot.
 */
export function sequence(context: ExportContext, specs: readonly LayerSpec[], prefix: string, input: Flow): Flow {
  return specs.reduce((flow, spec, index) => {
    const own = spec.name ?? String(index);
    return layer(context, spec, prefix === '' ? own : `${prefix}.${own}`, flow);
  }, input);
}
