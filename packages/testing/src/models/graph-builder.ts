import { encodeModel, encodeValueInfo, floatTensor, int64Tensor, OnnxDataType, type AttributeSpec, type NodeSpec } from '@icot/onnx-proto';
import type { Random } from '@icot/core';

/** Element types used by the builder. */
export const FLOAT = OnnxDataType.FLOAT;
export const INT64 = OnnxDataType.INT64;
export const INT32 = OnnxDataType.INT32;

/** Options of {@link GraphBuilder.op}. */
export interface OpOptions {
  readonly domain?: string;
  /** Number of outputs (default 1) or explicit output names. */
  readonly outputs?: number | readonly string[];
  readonly name?: string;
}

/**
 * Builds ONNX graphs in code: named inputs and outputs, float32 weights, cached int64 constants
 * and nodes with generated names. `build()` returns the ModelProto bytes.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: Uint8Array[] = [];
  private readonly inputs: Uint8Array[] = [];
  private readonly outputs: Uint8Array[] = [];
  private readonly constants = new Map<string, string>();
  private counter = 0;

  constructor(private readonly prefix = '') {}

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

  /** A float32 initializer. */
  weight(name: string, values: ArrayLike<number>, dims: readonly number[]): string {
    this.initializers.push(floatTensor(name, values, dims));
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

  /** A cached float32 constant (a scalar when `dims` is empty). */
  float(values: readonly number[], dims: readonly number[] = []): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(floatTensor(name, values, dims));
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
