import ort from 'onnxruntime-node';
import { ModelFilesError } from '@icot/core';
import type { OrtSession } from '@icot/onnx-decoding';

/** Session settings shared by all graphs of a model. */
export interface OrtSettings {
  /** Execution providers in order of preference (default `['cpu']`). */
  readonly executionProviders?: readonly string[];
  /** Threads per operator (default: onnxruntime's choice). */
  readonly intraOpNumThreads?: number;
}

/**
 * Create an onnxruntime-node session from a file or from edited model bytes. For bytes, external
 * weight files are looked up in `modelDir` (the folder of the original .onnx file).
 */
export async function createOrtSession(source: string | Uint8Array, label: string, modelDir: string, settings: OrtSettings): Promise<OrtSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...(settings.executionProviders ?? ['cpu'])] as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: 'all',
    ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
    ...(typeof source === 'string' ? {} : { extra: { session: { model_external_initializers_file_folder_path: modelDir } } }),
  };
  try {
    return (typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options)) as unknown as OrtSession;
  } catch (error) {
    throw new ModelFilesError(`onnxruntime cannot load ${label}: ${(error as Error).message}`, {
      hint: 'Check that the file is complete (re-download it) and was exported for an onnxruntime version this package supports (1.30).',
      cause: error,
    });
  }
}
