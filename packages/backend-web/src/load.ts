import { assembleModel, type AssembledModel, type FileSource, type OnnxDtypeSetting } from '@icot/model';
import type { AttentionLayerSetting } from '@icot/onnx-decoding';
import { urlFileSource, type UrlFileSourceOptions } from './files.js';
import { configureOnnxRuntimeWeb, resolveWebDevice, webSessionFactory, type OnnxRuntimeWebSettings, type WebDevice } from './sessions.js';

/** Options of {@link loadWebModel}. */
export interface LoadWebModelOptions extends OnnxRuntimeWebSettings {
  /** Weight variant: fp32 (default), fp16, q8, q4, q4f16 ... or one per graph. */
  readonly dtype?: OnnxDtypeSetting;
  /** `wasm` (default; the numerics of onnxruntime-node's CPU provider), `webgpu` or `auto`. */
  readonly device?: WebDevice;
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /** Add attention taps to the decoder (default true). */
  readonly tapAttention?: boolean;
  /** Longest run of inputs fed to a fused attention decoder in one call (default 512; 0 = none). */
  readonly prefillChunkSize?: number;
  /** How model files are fetched and cached (when `source` is a URL): Cache API name, progress, fetch. */
  readonly files?: Omit<UrlFileSourceOptions, 'signal'>;
  readonly signal?: AbortSignal;
}

/** A loaded browser model: the assembled model and where it runs. */
export type WebModel = AssembledModel & {
  /** The execution providers the sessions were created with (`['wasm']`, or `['webgpu', 'wasm']`). */
  readonly executionProviders: readonly string[];
};

/**
 * Load a vision-language model in the onnx-community layout on onnxruntime-web: from a folder URL
 * (fetched once into the Cache API) or any {@link FileSource}. `@icot/model` assembles it exactly
 * as the Node backends do (family, tokenizer, Pillow-exact preprocessing, attention taps, the
 * KV-cache loop); this backend only reads the files and makes the sessions. Runs block the thread
 * they run on: load it in a Web Worker (`@icot/backend-web/worker`).
 */
export async function loadWebModel(source: string | URL | FileSource, options: LoadWebModelOptions = {}): Promise<WebModel> {
  configureOnnxRuntimeWeb(options);
  const files =
    typeof source === 'string' || source instanceof URL ? urlFileSource(source, { ...options.files, ...(options.signal ? { signal: options.signal } : {}) }) : source;
  const executionProviders = await resolveWebDevice(options.device ?? 'wasm');
  const model = await assembleModel({
    files,
    sessions: webSessionFactory(files, { executionProviders }),
    provider: 'onnxruntime-web',
    ...(options.dtype ? { dtype: options.dtype } : {}),
    ...(options.attentionLayers ? { attentionLayers: options.attentionLayers } : {}),
    ...(options.tapAttention === false ? { tapAttention: false } : {}),
    ...(options.prefillChunkSize !== undefined ? { prefillChunkSize: options.prefillChunkSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return Object.assign(model, { executionProviders });
}
