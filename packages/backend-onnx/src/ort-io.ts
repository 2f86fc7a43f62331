import ort from 'onnxruntime-node';
import { ModelFilesError } from '@icot/core';
import { float16ToFloat32, float32ToFloat16 } from './float16.js';

/** Session settings shared by all graphs of a model. */
export interface OrtSettings {
  /** Execution providers in order of preference (default `['cpu']`). */
  readonly executionProviders?: readonly string[];
  /** Threads per operator (default: onnxruntime's choice). */
  readonly intraOpNumThreads?: number;
}

/** Element type and dims of a session input, from the graph's metadata. */
export interface InputSpec {
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** Input specs of a session by name. */
export function inputSpecs(session: ort.InferenceSession): Map<string, InputSpec> {
  const map = new Map<string, InputSpec>();
  for (const meta of session.inputMetadata) {
    if (meta.isTensor) map.set(meta.name, { type: meta.type, shape: meta.shape as (number | string)[] });
  }
  return map;
}

/**
 * Create an onnxruntime session from a file or from edited model bytes. For bytes, external
 * weight files are looked up in `modelDir` (the folder of the original .onnx file).
 */
export async function createOrtSession(source: string | Uint8Array, label: string, modelDir: string, settings: OrtSettings): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...(settings.executionProviders ?? ['cpu'])] as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: 'all',
    ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
    ...(typeof source === 'string' ? {} : { extra: { session: { model_external_initializers_file_folder_path: modelDir } } }),
  };
  try {
    return typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options);
  } catch (error) {
    throw new ModelFilesError(`onnxruntime cannot load ${label}: ${(error as Error).message}`, {
      hint: 'Check that the file is complete (re-download it) and was exported for an onnxruntime version this package supports (1.30).',
      cause: error,
    });
  }
}

/** A float tensor in the element type a graph input wants (float32 or float16). */
export function floatTensor(type: string, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (type === 'float16') return new ort.Tensor('float16', float32ToFloat16(data), dims);
  return new ort.Tensor('float32', data, dims);
}

/** The values of a float32 or float16 tensor as float32 (no copy for float32). */
export function readFloat(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') {
    const data = tensor.data as unknown;
    return data instanceof Uint16Array ? float16ToFloat32(data) : Float32Array.from(data as ArrayLike<number>);
  }
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

/** An int64 tensor from numbers. */
export function int64Tensor(values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return new ort.Tensor('int64', data, dims);
}

/** An empty tensor (one zero-length dimension) of a float type. */
export function emptyTensor(type: string, dims: readonly number[]): ort.Tensor {
  return type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/**
 * A growing buffer of int64 ones for attention masks: `view(n)` returns a tensor over the first
 * n entries without allocating a new mask every step.
 */
export class OnesMask {
  private data = new BigInt64Array(0);

  view(length: number): ort.Tensor {
    if (length > this.data.length) {
      this.data = new BigInt64Array(Math.max(length, this.data.length * 2, 256)).fill(1n);
    }
    return new ort.Tensor('int64', this.data.subarray(0, length), [1, length]);
  }
}

export { ort };
