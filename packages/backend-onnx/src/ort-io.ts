import { readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import ort from 'onnxruntime-node';
import { ModelFilesError } from '@icot/core';
import { createScratchFolder, linkRealFile, sweepScratchFolders } from '@icot/hub';
import type { SessionFactory } from '@icot/model';
import { defaultTensorFactory, fusedAttentionTapFor, type OrtSession } from '@icot/onnx-decoding';
import { executionProviderError } from './providers.js';

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
export async function createOrtSession(
  source: string | Uint8Array,
  label: string,
  modelDir: string,
  settings: OrtSettings,
  externalData?: readonly { readonly path: string; readonly data: Uint8Array }[],
): Promise<OrtSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...(settings.executionProviders ?? ['cpu'])] as ort.InferenceSession.ExecutionProviderConfig[],
    graphOptimizationLevel: 'all',
    ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
    ...(typeof source === 'string' ? {} : { extra: { session: { model_external_initializers_file_folder_path: modelDir } } }),
    ...(externalData ? { externalData: [...externalData] } : {}),
  };
  try {
    return (typeof source === 'string' ? await ort.InferenceSession.create(source, options) : await ort.InferenceSession.create(source, options)) as unknown as OrtSession;
  } catch (error) {
    throw executionProviderError(error, settings.executionProviders ?? ['cpu']) ??
      new ModelFilesError(`onnxruntime cannot load ${label}: ${(error as Error).message}`, {
        hint: 'Check that the file is complete (re-download it) and was exported for an onnxruntime version this package supports (1.30).',
        cause: error,
      });
  }
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Create a session from edited model bytes whose external weight files (`weightFiles`, relative
 * to `modelDir`) are read in place. onnxruntime reads a weight file only when its real path lies
 * inside the folder it is given, and a hub cache snapshot holds symlinks into `blobs/`: such
 * files are hard-linked into a scratch folder while the session is created (no bytes copied; the
 * folder is deleted right after), or - when the cache is on another file system than icot's
 * cache - handed to onnxruntime in memory.
 */
export async function createOrtSessionWithWeights(bytes: Uint8Array, label: string, modelDir: string, weightFiles: Iterable<string>, settings: OrtSettings): Promise<OrtSession> {
  const files = [...weightFiles];
  const realDir = await realpath(modelDir);
  const outside: string[] = [];
  for (const file of files) if (!isInside(realDir, await realpath(join(modelDir, file)))) outside.push(file);
  if (!outside.length) return createOrtSession(bytes, label, modelDir, settings);
  await sweepScratchFolders();
  const scratch = await createScratchFolder();
  try {
    try {
      for (const file of files) await linkRealFile(join(modelDir, file), join(scratch.dir, file));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EACCES' && code !== 'EMLINK') throw error;
      const externalData = await Promise.all(files.map(async (file) => ({ path: file, data: new Uint8Array(await readFile(join(modelDir, file))) })));
      return await createOrtSession(bytes, label, modelDir, settings, externalData);
    }
    return await createOrtSession(bytes, label, scratch.dir, settings);
  } finally {
    await scratch.remove();
  }
}

/**
 * The session factory of a model folder on onnxruntime-node: graphs loaded from their files,
 * edited graphs (attention taps) from their bytes with the weight files read in place. Fused
 * attention is tapped through its own attention output on the CPU provider and recomputed from
 * plain operators on any other (`fusedAttentionTapFor`).
 */
export function nodeSessionFactory(folder: string, settings: OrtSettings): SessionFactory {
  return {
    tensors: defaultTensorFactory,
    // GPU providers do not write fused attention's own attention output: the taps recompute it
    fusedAttentionTap: fusedAttentionTapFor(settings.executionProviders),
    createSession(graph) {
      const path = join(folder, ...graph.file.split('/'));
      const graphDir = dirname(path);
      return graph.bytes
        ? createOrtSessionWithWeights(graph.bytes, graph.label, graphDir, graph.externalDataFiles, settings)
        : createOrtSession(path, graph.label, graphDir, settings);
    },
  };
}
