/**
 * An ONNX graph under construction and its protobuf encoding: nodes in topological order
 * (each layer appends its own after its input's), weights as initializers, and the model
 * around them (opset, IR version, typed input and output with a symbolic batch dimension).
 * The encoding is `@bufbuild/protobuf` with the ONNX schema that `onnx-buf` compiles from the
 * official onnx.proto; neither touches Node built-ins, so this runs in a browser bundle too.
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType, ModelProtoSchema, TensorProto_DataType, type NodeProtoSchema, type TensorProtoSchema } from 'onnx-buf';

/**
 * The operator set the graph is written for: 17 has every operator used here in its current
 * form (Softmax over one axis and Squeeze with its axes as an input since 13, BatchNormalization
 * since 15) and loads in ONNX Runtime and in the ONNX 1.12 checker that Debian ships.
 */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8n;
/** The name of the symbolic batch dimension of the input and the output. */
export const BATCH_DIMENSION = 'batch';

/** A node attribute, typed as ONNX stores it (a bare number would not say float or int). */
export type Attribute = { float: number } | { int: number } | { ints: readonly number[] };

type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
type TensorInit = MessageInitShape<typeof TensorProtoSchema>;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** float32 values as ONNX's `raw_data`: little-endian bytes, whatever the platform's order. */
function littleEndianBytes(values: Float32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 4);
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  } else {
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  }
  return bytes;
}

function attribute(name: string, value: Attribute): NonNullable<NodeInit['attribute']>[number] {
  if ('float' in value) return { name, type: AttributeProto_AttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: AttributeProto_AttributeType.INT, i: BigInt(value.int) };
  return { name, type: AttributeProto_AttributeType.INTS, ints: value.ints.map(BigInt) };
}

/** A graph input's or output's type: float32 of shape [batch, ...dims]. */
function floatValue(name: string, dims: readonly number[]) {
  const dim = [{ value: { case: 'dimParam' as const, value: BATCH_DIMENSION } }, ...dims.map((d) => ({ value: { case: 'dimValue' as const, value: BigInt(d) } }))];
  return { name, type: { value: { case: 'tensorType' as const, value: { elemType: TensorProto_DataType.FLOAT, shape: { dim } } } } };
}

/**
 * Builds one graph from input `inputName` to output `outputName` (both reserved from the
 * start, so no node takes them): names are unique, every node and initializer is added once.
 */
export class OnnxGraph {
  private readonly nodes: NodeInit[] = [];
  private readonly initializers: TensorInit[] = [];
  private readonly names: Set<string>;
  private readonly int64Constants = new Map<string, string>();

  constructor(
    readonly inputName: string,
    readonly outputName: string,
  ) {
    this.names = new Set([inputName, outputName]);
  }

  /** `base`, or `base_1`, `base_2`, … when it is taken. */
  private unique(base: string): string {
    let name = base;
    for (let n = 1; this.names.has(name); n++) name = `${base}_${n}`;
    this.names.add(name);
    return name;
  }

  /** A float32 initializer of `shape` (a weight); returns its name. */
  weight(name: string, shape: readonly number[], values: Float32Array): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dataType: TensorProto_DataType.FLOAT, dims: shape.map(BigInt), rawData: littleEndianBytes(values) });
    return unique;
  }

  /** A 1-D int64 initializer (axes, for Squeeze), shared by every node that needs the same values. */
  int64s(values: readonly number[]): string {
    const key = values.join(',');
    const known = this.int64Constants.get(key);
    if (known !== undefined) return known;
    const name = this.unique(`int64[${key}]`);
    this.initializers.push({ name, dataType: TensorProto_DataType.INT64, dims: [BigInt(values.length)], int64Data: values.map(BigInt) });
    this.int64Constants.set(key, name);
    return name;
  }

  /**
   * Appends a node `opType(inputs)` named after `scope` (the gradlab layer it belongs to) and
   * returns its `outputs` output names. An empty input name stands for an omitted optional input.
   */
  node(scope: string, opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputs = 1): string[] {
    const name = this.unique(`${scope}/${opType}`);
    const outputNames = Array.from({ length: outputs }, (_, i) => this.unique(outputs === 1 ? name : `${name}:${i}`));
    this.nodes.push({ name, opType, input: [...inputs], output: outputNames, attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)) });
    return outputNames;
  }

  /** {@link node} with one output. */
  op(scope: string, opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(scope, opType, inputs, attributes)[0];
  }

  /**
   * The model's protobuf bytes, with `result` (the last layer's output) as the graph's output
   * through a final Identity; `inputDims` and `outputDims` are per-example shapes.
   */
  encode(result: string, inputDims: readonly number[], outputDims: readonly number[], producer: { name: string; docString: string }): Uint8Array {
    const nodes: NodeInit[] = [...this.nodes, { name: this.unique(`${this.outputName}/Identity`), opType: 'Identity', input: [result], output: [this.outputName] }];
    const model = create(ModelProtoSchema, {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
      producerName: producer.name,
      docString: producer.docString,
      graph: {
        name: producer.name,
        node: nodes,
        initializer: this.initializers,
        input: [floatValue(this.inputName, inputDims)],
        output: [floatValue(this.outputName, outputDims)],
      },
    });
    return toBinary(ModelProtoSchema, model);
  }
}
