/**
 * Running a {@link RunDescription} in the calling process: model loading (with a one-model
 * cache), images, strategies by name, and the ICoT loop. This is what the child process of
 * `@icot/runner` executes. onnxruntime runs block the calling thread and cannot be interrupted:
 * call this only where that is acceptable (a child process, a batch job); use
 * `runInChildProcess` / `ChildRunner` from `@icot/runner` where runs must be cancellable.
 * @module
 */
import { generateICoT, imageTiles, type PromptInput, type RgbImage, type VisionLanguageModelV2 } from '@icot/core';
import { loadOnnxModel, parseDtype, type DownloadProgress } from '@icot/backend-onnx';
import { decodeImage, readImageFile } from '@icot/image/node';
import { modelFileManifest } from '@icot/model';
import { nodeFileSource } from '@icot/model/node';
import { stat } from 'node:fs/promises';
import { checkRunDescription, type EncodedImageInfo, type ImageSource, type LoadedModelInfo, type ModelDescription, type RunDescription, type RunEvent, type RunOutcome, type RunRecord } from './description.js';
import { FileHasher, sha256Of } from './record.js';
import { createStrategies, type Strategies } from './strategies.js';

export { createStrategies, type Strategies } from './strategies.js';

/** Download progress as the runner reports it. */
export type DownloadEvent = Extract<RunEvent, { type: 'download' }>;

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Hub download progress (at most every 100 ms per file, plus each file's last report). */
  readonly onDownload?: (event: DownloadEvent) => void;
  readonly signal?: AbortSignal;
}

/** Load the model a description names, on its backend (transformers.js is imported only when asked for). */
export async function loadModel(description: ModelDescription, options: LoadModelOptions = {}): Promise<VisionLanguageModelV2> {
  const report = options.onDownload;
  const hub = {
    ...(description.cacheDir ? { cacheDir: description.cacheDir } : {}),
    ...(description.revision ? { revision: description.revision } : {}),
    localFilesOnly: description.offline ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(report ? { onProgress: (progress: DownloadProgress) => report({ type: 'download', ...progress }) } : {}),
  };
  if ((description.backend ?? 'onnx') === 'transformers') {
    const { loadTransformersModel } = await import('@icot/backend-transformers');
    return loadTransformersModel(description.source, {
      ...(description.dtype ? { dtype: description.dtype } : {}),
      attentionLayers: description.attentionLayers ?? 'all',
      ...hub,
    });
  }
  return loadOnnxModel(description.source, {
    ...(description.dtype ? { dtype: parseDtype(description.dtype) } : {}),
    attentionLayers: description.attentionLayers ?? 'all',
    ...(description.threads ? { intraOpNumThreads: description.threads } : {}),
    hub,
  });
}

/** A JSON text of `value` with object keys sorted, so equal descriptions give equal keys. */
function stableKey(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Holds the most recently loaded model, so consecutive runs with an equal
 * {@link ModelDescription} share it (a server child serving several runs one at a time).
 * A run with another model releases the held one first.
 */
export class ModelCache {
  private entry: { readonly key: string; readonly model: VisionLanguageModelV2 } | undefined;

  /** The model for `description`: the held one when the description is equal, else a newly loaded one. */
  async acquire(description: ModelDescription, options: LoadModelOptions & { readonly onEvent?: (event: RunEvent) => void } = {}): Promise<{ model: VisionLanguageModelV2; reused: boolean }> {
    const key = stableKey(description);
    if (this.entry?.key === key) return { model: this.entry.model, reused: true };
    await this.dispose();
    options.onEvent?.({ type: 'model-loading', source: description.source, backend: description.backend ?? 'onnx' });
    const onDownload = options.onDownload ?? options.onEvent;
    const model = await loadModel(description, { ...(onDownload ? { onDownload } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    this.entry = { key, model };
    return { model, reused: false };
  }

  /** Release the held model, if any. */
  async dispose(): Promise<void> {
    const entry = this.entry;
    this.entry = undefined;
    await entry?.model.dispose();
  }
}

async function readImage(source: ImageSource, index: number, description: RunDescription): Promise<RgbImage> {
  const limit = {
    ...(description.maxImagePixels === undefined ? {} : { maxPixels: description.maxImagePixels }),
    ...(description.imageAlpha === undefined ? {} : { alpha: description.imageAlpha }),
  };
  if ('path' in source) return readImageFile(source.path, limit);
  return decodeImage(source.bytes, { name: source.name ?? `image ${index + 1}`, ...limit });
}

/** Options of {@link executeRun}. */
export interface ExecuteRunOptions {
  /** Sees every {@link RunEvent}; if it throws, the run stops (its session is released) with that error. */
  readonly onEvent?: (event: RunEvent) => void;
  /** Model cache to load into and reuse from; without one the model is released when the run ends. */
  readonly models?: ModelCache;
  readonly signal?: AbortSignal;
}

/**
 * Run a whole {@link RunDescription} here: read the images, load (or reuse) the model, encode the
 * images, build the strategies by name and generate with ICoT, reporting every {@link RunEvent}.
 */
export async function executeRun(description: RunDescription, options: ExecuteRunOptions = {}): Promise<RunOutcome> {
  checkRunDescription(description);
  const { signal } = options;
  const emit = options.onEvent ?? (() => {});
  const pixels: RgbImage[] = [];
  for (const [i, source] of description.images.entries()) pixels.push(await readImage(source, i, description)); // bad files fail before a long load
  const models = options.models ?? new ModelCache();
  try {
    const { model, reused } = await models.acquire(description.model, { onEvent: emit, ...(signal ? { signal } : {}) });
    const info: LoadedModelInfo = { modelId: model.modelId, family: model.family.name, provider: model.provider };
    emit({ type: 'model-loaded', reused, ...info });
    const encoded = [];
    const images: EncodedImageInfo[] = [];
    for (const rgb of pixels) {
      const image = await model.encodeImage(rgb, signal ? { signal } : {});
      encoded.push(image);
      images.push({ width: rgb.width, height: rgb.height, rows: image.grid.rows, cols: image.grid.cols, tiles: imageTiles(image).length, patches: image.patchCount });
    }
    emit({ type: 'images-encoded', images });
    const given = description.prompt;
    const prompt: PromptInput =
      'text' in given
        ? { text: given.text, images: encoded }
        : 'messages' in given
          ? { messages: given.messages, images: encoded }
          : { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: given.question }] }], images: encoded };
    const tokenTexts: string[] = [];
    const strategies = createStrategies(description, model);
    const result = await generateICoT({
      model,
      prompt,
      ...strategies,
      ...(description.k !== undefined ? { k: description.k } : {}),
      ...(description.maxInsertions !== undefined ? { maxInsertions: description.maxInsertions } : {}),
      ...(description.insertAfterPrompt !== undefined ? { insertAfterPrompt: description.insertAfterPrompt } : {}),
      ...(description.excludeSelected !== undefined ? { excludeSelected: description.excludeSelected } : {}),
      ...(description.maxNewTokens !== undefined ? { maxNewTokens: description.maxNewTokens } : {}),
      ...(description.sampling ? { sampling: description.sampling } : {}),
      ...(signal ? { signal } : {}),
      onEvent: (event) => {
        if (event.type === 'token') tokenTexts.push(model.tokenizer.decode([event.token]));
        emit(event);
      },
    }).finally(() => disposeStrategies(strategies)); // a detector or SAM model a selector loaded
    return { result, model: info, images, tokenTexts, ...(description.record ? { record: await recordRun(description, model) } : {}) };
  } finally {
    if (!options.models) await models.dispose();
  }
}

/** Whether `path` is an existing folder. */
async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Hash the files of the model (its local folder: the one given, or the hub snapshot it was loaded from) and the images. */
async function recordRun(description: RunDescription, model: VisionLanguageModelV2): Promise<RunRecord> {
  const hasher = new FileHasher();
  const folder = (await isFolder(model.modelId)) ? model.modelId : (await isFolder(description.model.source)) ? description.model.source : null;
  const modelFiles = [];
  if (folder !== null) {
    const files = nodeFileSource(folder);
    const manifest = await modelFileManifest(files, {
      backend: description.model.backend === 'transformers' ? 'transformers.js' : 'onnx',
      ...(description.model.dtype ? { dtype: parseDtype(description.model.dtype) } : {}),
    });
    for (const path of manifest) modelFiles.push(await hasher.hash(files.describe(path), path));
  }
  const images = [];
  for (const [i, source] of description.images.entries())
    images.push('path' in source ? await hasher.hash(source.path) : { path: source.name ?? `image ${i + 1}`, bytes: source.bytes.length, sha256: sha256Of(source.bytes) });
  await hasher.save();
  return { modelFolder: folder, modelFiles, images };
}

/** Release what strategies hold (a selector's detector or SAM sessions), when they can. */
async function disposeStrategies(strategies: Strategies): Promise<void> {
  for (const strategy of [strategies.selector, strategies.decoder, strategies.trigger]) {
    const dispose = (strategy as { dispose?: () => unknown }).dispose;
    if (typeof dispose === 'function') await dispose.call(strategy);
  }
}
