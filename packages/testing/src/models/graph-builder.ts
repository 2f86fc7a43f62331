import { encodeExternalTensor, encodeModel, encodeTensor, encodeValueInfo, float32ToFloat16, floatTensor, int64Tensor, OnnxDataType, type AttributeSpec, type NodeSpec } from '@icot/onnx-proto';
import type { Random } from '@icot/core';
import type { ExternalDataSink } from './weights.js';

/** Element types used by the builder. */
export const FLOAT = OnnxDataType.FLOAT;
export const FLOAT16 = OnnxDataType.FLOAT16;
export const UINT8 = OnnxDataType.UINT8;
export const INT64 = OnnxDataType.INT64;
export const INT32 = OnnxDataType.INT32;

/** Options of a {@link GraphBuilder}. */
export interface GraphBuilderOptions {
  /** Where initializers of at least `externalMinBytes` go (external data) instead of the model. */
  readonly externalData?: ExternalDataSink;
  /** Smallest initializer stored externally (default 1024 bytes). */
  readonly externalMinBytes?: number;
}

/** Bytes of a typed array, without a copy. */
function bytesOf(data: Float32Array | Uint16Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Options of {@link GraphBuilder.op}. */
export interface OpOptions {
  readonly domain?: string;
  /** Number of outputs (default 1) or explicit output names. */
  readonly outputs?: number | readonly string[];
  readonly name?: string;
}

/**
 * Builds ONNX graphs in code: named inputs and outputs, float32 / float16 / uint8 weights (inline,
 * or streamed to an external data file), cached int64 and float constants and nodes with generated
 * names. `build()` returns the ModelProto bytes.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: Uint8Array[] = [];
  private readonly inputs: Uint8Array[] = [];
  private readonly outputs: Uint8Array[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(
    private readonly prefix = '',
    private readonly options: GraphBuilderOptions = {},
  ) {}

  private fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.counter++}`;
  }

  /** Declare a graph input. */
  input(name: string, elemType: number, dims: readonly (number | string)[]): string {
    this.inputs.push(encodeValueInfo(name, elemType, dims));
    return name;
  }

  /** Declare `tensor` as a graph output named `name` (an Identity is added when the names differ). */
  output(tensor: string, name: string, elemType: number, dims?: readonly (number | string)[]): string {
    if (tensor !== name) this.nodes.push({ name: this.fresh('out'), opType: 'Identity', inputs: [tensor], outputs: [name] });
    this.outputs.push(encodeValueInfo(name, elemType, dims));
    return name;
  }

  /** A float32 initializer, or a float16 one (values rounded to nearest even) when `dataType` is FLOAT16. */
  weight(name: string, values: ArrayLike<number>, dims: readonly number[], dataType: number = FLOAT): string {
    if (dataType === FLOAT16) return this.tensor(name, FLOAT16, dims, bytesOf(float32ToFloat16(values)));
    if (dataType !== FLOAT) throw new Error(`GraphBuilder.weight: unsupported element type ${dataType}`);
    if (!this.isExternal(values.length * 4)) {
      this.initializers.push(floatTensor(name, values, dims));
      return name;
    }
    return this.tensor(name, FLOAT, dims, bytesOf(values instanceof Float32Array ? values : Float32Array.from(values)));
  }

  private isExternal(byteLength: number): boolean {
    return this.options.externalData !== undefined && byteLength >= (this.options.externalMinBytes ?? 1024);
  }

  /** An initializer of little-endian `raw` bytes in element type `dataType`. */
  tensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): string {
    return this.streamTensor(name, dataType, dims, raw.length, (put) => put(raw));
  }

  /**
   * An initializer of `byteLength` bytes that `produce` hands over in chunks: written straight to
   * the external data file when the builder has one (so large weights are never held whole),
   * else collected into the model.
   */
  streamTensor(name: string, dataType: number, dims: readonly number[], byteLength: number, produce: (put: (chunk: Uint8Array) => void) => void): string {
    const sink = this.options.externalData;
    if (sink && this.isExternal(byteLength)) {
      const offset = sink.write(byteLength, produce);
      this.initializers.push(encodeExternalTensor(name, dataType, dims, sink.location, offset, byteLength));
      return name;
    }
    const raw = new Uint8Array(byteLength);
    let at = 0;
    produce((chunk) => {
      raw.set(chunk, at);
      at += chunk.length;
    });
    if (at !== byteLength) throw new Error(`GraphBuilder.streamTensor: ${name} expected ${byteLength} bytes, got ${at}`);
    this.initializers.push(encodeTensor(name, dataType, dims, raw));
    return name;
  }

  /** A float32 initializer of normal(0, std) values from `random`. */
  randomWeight(name: string, dims: readonly number[], random: Random, std: number): string {
    return this.weight(name, normal(random, dims.reduce((a, b) => a * b, 1), std), dims);
  }

  /** A cached int64 constant. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(int64Tensor(name, values, dims));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A cached float32 (or `dataType` FLOAT16) constant (a scalar when `dims` is empty). */
  float(values: readonly number[], dims: readonly number[] = [], dataType: number = FLOAT): string {
    const key = `f${dataType}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(dataType === FLOAT16 ? encodeTensor(name, FLOAT16, dims, bytesOf(float32ToFloat16(values))) : floatTensor(name, values, dims));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Add a node; returns its output name (or names when several outputs are asked for). */
  op(opType: string, inputs: readonly string[], attributes?: readonly AttributeSpec[], options?: OpOptions): string;
  op(opType: string, inputs: readonly string[], attributes: readonly AttributeSpec[], options: OpOptions & { outputs: number | readonly string[] }): string[];
  op(opType: string, inputs: readonly string[], attributes: readonly AttributeSpec[] = [], options: OpOptions = {}): string | string[] {
    const count = typeof options.outputs === 'number' ? options.outputs : (options.outputs?.length ?? 1);
    const outputs = Array.isArray(options.outputs) ? [...options.outputs] : Array.from({ length: count }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      name: options.name ?? this.fresh(`n_${opType}`),
      opType,
      ...(options.domain ? { domain: options.domain } : {}),
      inputs,
      outputs,
      attributes,
    });
    return options.outputs === undefined ? outputs[0]! : outputs;
  }

  /** The ModelProto bytes. */
  build(opsets: ReadonlyMap<string, number> = new Map([['', 17]])): Uint8Array {
    return encodeModel({ opsets, graph: { nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs } });
  }
}

/** `n` samples of normal(0, std) (Box-Muller on a seeded source). */
export function normal(random: Random, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(random.next(), 1e-12);
    const v = random.next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
