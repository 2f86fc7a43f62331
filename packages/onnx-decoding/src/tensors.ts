import { Tensor } from 'onnxruntime-common';
import { float16ToFloat32, float32ToFloat16 } from './float16.js';

/**
 * Makes tensors for a particular onnxruntime instance (onnxruntime-node, -web, or the one a
 * library such as transformers.js bundles), so sessions from any of them can be driven.
 */
export type TensorFactory = (type: Tensor.Type, data: Tensor.DataType, dims: readonly number[]) => Tensor;

/** Tensors of this package's onnxruntime-common (shared by onnxruntime-node and -web of the same version). */
export const defaultTensorFactory: TensorFactory = (type, data, dims) => new Tensor(type, data as Float32Array, dims);

/** An onnxruntime inference session, of whichever onnxruntime package created it. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly { readonly name: string; readonly isTensor: boolean; readonly type?: string; readonly shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, Tensor>, fetches?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Element type and dims of a session input, from the graph's metadata. */
export interface InputSpec {
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** Input specs of a session by name. */
export function inputSpecs(session: OrtSession): Map<string, InputSpec> {
  const map = new Map<string, InputSpec>();
  for (const meta of session.inputMetadata) if (meta.isTensor) map.set(meta.name, { type: meta.type ?? 'float32', shape: meta.shape ?? [] });
  return map;
}

/** A float tensor in the element type a graph input wants (float32 or float16). */
export function floatTensor(factory: TensorFactory, type: string, data: Float32Array, dims: readonly number[]): Tensor {
  return type === 'float16' ? factory('float16', float32ToFloat16(data), dims) : factory('float32', data, dims);
}

/** The values of a float32 or float16 tensor as float32 (no copy for float32; a table lookup per value for float16). */
export function readFloat(tensor: Tensor): Float32Array {
  return readFloatRange(tensor, 0, tensor.size);
}

/**
 * Values `[start, end)` of a float32 or float16 tensor as float32: a view for float32, and for
 * float16 only that range converted (through the 65,536-entry half-precision lookup table).
 */
export function readFloatRange(tensor: Tensor, start: number, end: number): Float32Array {
  if (tensor.type === 'float32') return (tensor.data as Float32Array).subarray(start, end);
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown as Uint16Array | ArrayLike<number>;
    // float16 data is a Uint16Array of bit patterns, or a Float16Array where the runtime has one
    return data instanceof Uint16Array ? float16ToFloat32(data.subarray(start, end)) : Float32Array.from((data as Float32Array).subarray(start, end));
  }
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

/** The last row of a [..., rows, width] float32 / float16 tensor as float32 (only that row is converted). */
export function readLastRow(tensor: Tensor): Float32Array {
  const width = tensor.dims[tensor.dims.length - 1]!;
  return readFloatRange(tensor, tensor.size - width, tensor.size);
}

/**
 * Release a tensor's data where the runtime supports it (`Tensor.dispose`: GPU buffers are freed,
 * CPU tensors drop their reference). Views already taken of CPU data stay valid.
 */
export function disposeTensor(tensor: Tensor | undefined): void {
  if (tensor && typeof (tensor as { dispose?: unknown }).dispose === 'function' && tensor.location !== 'none') tensor.dispose();
}

/** An int64 tensor from numbers. */
export function int64Tensor(factory: TensorFactory, values: ArrayLike<number>, dims: readonly number[]): Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return factory('int64', data, dims);
}

/** An empty float tensor (one zero-length dimension). */
export function emptyTensor(factory: TensorFactory, type: string, dims: readonly number[]): Tensor {
  return type === 'float16' ? factory('float16', new Uint16Array(0), dims) : factory('float32', new Float32Array(0), dims);
}

/**
 * A growing buffer of int64 ones for attention masks: `view(n)` returns a tensor over the first
 * n entries without allocating a new mask every step.
 */
export class OnesMask {
  private data = new BigInt64Array(0);
  constructor(private readonly factory: TensorFactory) {}

  view(length: number): Tensor {
    if (length > this.data.length) this.data = new BigInt64Array(Math.max(length, this.data.length * 2, 256)).fill(1n);
    return this.factory('int64', this.data.subarray(0, length), [1, length]);
  }
}
