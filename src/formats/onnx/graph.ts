/**
 * A small ONNX graph builder: named values, nodes, initializers, symbolic input/output shapes, and
 * the ModelProto bytes (the protobuf messages of `onnx-proto`, the ONNX definition compiled for
 * protobufjs). Large initializers can go to an external data file, as the Optimum/Transformers.js
 * layout ships them (`model.onnx` + `model.onnx_data`).
 *
 * Node only (the exporter, `cria export onnx`): the runtime never builds graphs (it reads one thing
 * of a graph: the external data files it names, ./external-data.ts).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX element types used here (TensorProto.DataType). */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataType = (typeof DT)[keyof typeof DT];

/** A dimension: a size, or a symbolic name (batch_size, sequence_length, …). */
export type Dim = number | string;

export type Attr = number | string | readonly number[] | { floats: readonly number[] } | { float: number };

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  domain: string;
  name: string;
}

interface Initializer {
  name: string;
  type: DataType;
  dims: readonly number[];
  bytes: Uint8Array;
}

interface ValueInfo {
  name: string;
  type: DataType;
  dims: readonly Dim[];
}

export interface EncodeOptions {
  /** initializers of at least this many bytes go to the external data file (default: none) */
  externalThreshold?: number;
  /** the external data file's name, relative to the model file (default `model.onnx_data`) */
  externalName?: string;
}

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  /** the opsets the graph uses: the default domain's version, and com.microsoft when a contrib op is used */
  private readonly domains = new Map<string, number>();

  constructor(readonly opset = 17) {
    this.domains.set('', opset);
  }

  private fresh(hint: string): string {
    let name: string;
    do name = `/${hint}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx graph: the name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  input(name: string, type: DataType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), type, dims });
    return name;
  }

  /** Mark `value` as the graph output `name` (an Identity node when the names differ). */
  output(value: string, name: string, type: DataType, dims: readonly Dim[]): void {
    if (value !== name) this.node('Identity', [value], { outputs: [this.claim(name)] });
    this.outputs.push({ name, type, dims });
  }

  /** A constant tensor (an initializer). */
  tensor(name: string, type: DataType, dims: readonly number[], bytes: Uint8Array): string {
    const expected = dims.reduce((a, b) => a * b, 1) * bytesPer(type);
    if (bytes.byteLength !== expected) throw new Error(`onnx graph: initializer ${name} has ${bytes.byteLength} bytes, want ${expected} for [${dims}]`);
    this.initializers.push({ name: this.claim(name), type, dims, bytes });
    return name;
  }

  f32(name: string, dims: readonly number[], values: Float32Array): string {
    return this.tensor(name, DT.FLOAT, dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  /** A small int64 constant (shapes, axes), named after its values. */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = `/const_i64_${dims.join('x')}_${values.join('_').replace(/-/g, 'm')}`;
    if (this.names.has(name)) return name;
    const b = new BigInt64Array(values.map((v) => BigInt(v)));
    return this.tensor(name, DT.INT64, dims, new Uint8Array(b.buffer));
  }

  /** A scalar f32 constant. */
  scalar(v: number): string {
    const name = `/const_f32_${String(v).replace(/[^0-9a-zA-Z]/g, '_')}`;
    if (this.names.has(name)) return name;
    return this.tensor(name, DT.FLOAT, [], new Uint8Array(Float32Array.of(v).buffer));
  }

  /** Add a node; returns its first output (or every output with `outputs`). */
  node(op: string, inputs: readonly string[], opts: { attrs?: Record<string, Attr>; domain?: string; outputs?: string[]; nOutputs?: number; hint?: string } = {}): string {
    const domain = opts.domain ?? '';
    if (domain !== '' && !this.domains.has(domain)) this.domains.set(domain, 1);
    const outputs = opts.outputs ?? Array.from({ length: opts.nOutputs ?? 1 }, () => this.fresh(`${opts.hint ?? op}/output`));
    this.nodes.push({ op, inputs: [...inputs], outputs, attrs: opts.attrs ?? {}, domain, name: this.fresh(opts.hint ?? op) });
    return outputs[0];
  }

  /** Every output of a node with several. */
  nodeOutputs(op: string, inputs: readonly string[], n: number, attrs: Record<string, Attr> = {}): string[] {
    const outputs = Array.from({ length: n }, () => this.fresh(`${op}/output`));
    this.node(op, inputs, { attrs, outputs });
    return outputs;
  }

  /** The ModelProto, and the external data file when some initializers went there. */
  encode(opts: EncodeOptions = {}): { model: Uint8Array; data?: Uint8Array } {
    const threshold = opts.externalThreshold ?? Infinity;
    const externalName = opts.externalName ?? 'model.onnx_data';
    const parts: Uint8Array[] = [];
    let offset = 0;
    const initializer = this.initializers.map((t) => {
      const base = { name: t.name, dataType: t.type, dims: [...t.dims] };
      if (t.bytes.byteLength < threshold) return { ...base, rawData: t.bytes };
      // each tensor at a 64-byte boundary (mmap-friendly readers; ORT does not require it)
      const pad = (64 - (offset % 64)) % 64;
      if (pad) parts.push(new Uint8Array(pad));
      offset += pad;
      parts.push(t.bytes);
      const entry = {
        ...base,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: externalName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(t.bytes.byteLength) },
        ],
      };
      offset += t.bytes.byteLength;
      return entry;
    });
    const graph = {
      name: 'cria',
      node: this.nodes.map((n) => ({ name: n.name, opType: n.op, domain: n.domain, input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)) })),
      initializer,
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    };
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      producerName: 'cria',
      producerVersion: '1',
      opsetImport: [...this.domains].map(([domain, version]) => ({ domain, version })),
      graph,
    }).finish();
    if (parts.length === 0) return { model };
    const data = new Uint8Array(offset);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    return { model, data };
  }
}

function bytesPer(type: DataType): number {
  switch (type) {
    case DT.FLOAT:
    case DT.INT32:
      return 4;
    case DT.INT64:
      return 8;
    case DT.FLOAT16:
      return 2;
    default:
      return 1;
  }
}

function valueInfo(v: ValueInfo) {
  return {
    name: v.name,
    type: { tensorType: { elemType: v.type, shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`onnx graph: attribute ${name} = ${v}: pass {float: v} for a float`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: [...v] };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: [...(v as { floats: readonly number[] }).floats] };
}
