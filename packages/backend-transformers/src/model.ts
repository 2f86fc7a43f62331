import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AutoModelForImageTextToText, AutoProcessor, env, Tensor as HfTensor } from '@huggingface/transformers';
import { ModelConfigError, ModelFilesError, OptionError, type ChatMessage, type TokenizerV1 } from '@icot/core';
import {
  assembleModel,
  checkModelFiles,
  EMBEDDINGS_GRAPHS,
  FAMILIES,
  modelFamilyOf,
  readJsonFile,
  onnxFileName,
  parseDtype,
  type AssembledModel,
  type FamilyEntry,
  type RuntimeTokenizer,
  type SessionFactory,
} from '@icot/model';
import { nodeFileSource } from '@icot/model/node';
import { fusedAttentionTapFor, type AttentionLayerSetting, type OrtSession, type TensorFactory } from '@icot/onnx-decoding';
import type { Tensor as OrtTensor } from 'onnxruntime-common';
import { resolveHubFolder, type HubSettings } from './hub.js';
import { tappedMirror } from './mirror.js';

/** Options of {@link loadTransformersModel}. */
export interface TransformersModelOptions extends HubSettings {
  /** Weight variant (transformers.js `dtype`), default fp32. */
  readonly dtype?: string;
  /** transformers.js device (default `cpu`; `webgpu`, `cuda` ... where available). */
  readonly device?: string;
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /** Add attention taps (default true). */
  readonly tapAttention?: boolean;
  /**
   * icot's cache folder, for tapped decoder graphs (`<dir>/tapped`) and the scratch folders
   * transformers.js loads from (`<dir>/tmp`); default `$ICOT_CACHE_DIR`, else `~/.cache/icot`.
   */
  readonly tappedCacheDir?: string;
  /** Longest prefill run through a fused-attention decoder (default 512, 0 = no chunking). */
  readonly prefillChunkSize?: number;
}

/** The parts of a transformers.js model object this backend uses: its loaded sessions. */
export interface HfModel {
  sessions: Record<string, OrtSession>;
  dispose(): Promise<unknown>;
}

/** The parts of a transformers.js tokenizer this backend uses. */
export interface HfTokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skip_special_tokens?: boolean }): string;
  apply_chat_template(messages: unknown[], options: Record<string, unknown>): string | unknown;
  /** Older transformers.js tokenizers; 4.x has none (`convert_tokens_to_ids` instead). */
  model?: { tokens_to_ids?: Map<string, number> };
  convert_tokens_to_ids?(tokens: string | string[]): number | number[];
  /** The chat template, when the model has one. */
  chat_template?: unknown;
}

/** The parts of a transformers.js processor this backend uses. */
export interface HfProcessor {
  tokenizer: HfTokenizerLike;
}

/** transformers.js runs families whose decoder takes embeddings (it has no Chameleon-class models). */
const embeddingsOnly = (entry: FamilyEntry): boolean => entry.decoderInput === 'embeddings';

/**
 * Refuse a model of a family icot runs but transformers.js does not (a Chameleon-class model: its
 * decoder takes image-token ids, and transformers.js has no such models), naming the family and
 * the backend that runs it. Unknown model types are left to the family registry's error.
 */
function checkTransformersFamily(config: Record<string, unknown>, where: string): void {
  const modelType = config['model_type'];
  if (typeof modelType !== 'string') return;
  for (const [kind, entry] of Object.entries(FAMILIES) as [string, FamilyEntry][])
    if (entry.modelTypes.includes(modelType) && !embeddingsOnly(entry))
      throw new OptionError(
        `${where} is a ${kind === 'chameleon' ? 'Chameleon-class' : `'${kind}'`} model (model_type '${modelType}'), a family the transformers.js backend does not run: its decoder takes image-token ids, and transformers.js has no such models.`,
        { hint: 'Use the ONNX backend, which runs it: --backend onnx on the command line, loadOnnxModel from @icot/backend-onnx in code.' },
      );
}

/** Tensors made with transformers.js's own onnxruntime, so its sessions accept them. */
const hfTensors: TensorFactory = (type, data, dims) => (new HfTensor(type, data as Float32Array, [...dims]) as unknown as { ort_tensor: OrtTensor }).ort_tensor;

function tokenizerAdapter(tokenizer: HfTokenizerLike): TokenizerV1 {
  return {
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }),
    decode: (ids, options) => tokenizer.decode([...ids], { skip_special_tokens: options?.skipSpecialTokens ?? false }),
    tokenToId: (token) => {
      const viaMap = tokenizer.model?.tokens_to_ids?.get(token);
      if (viaMap !== undefined) return viaMap;
      const id = tokenizer.convert_tokens_to_ids?.(token);
      return typeof id === 'number' ? id : undefined;
    },
  };
}

/** transformers.js's tokenizer and chat template, for the assembly. */
function runtimeTokenizer(processor: HfProcessor): RuntimeTokenizer {
  const hf = processor.tokenizer;
  return {
    tokenizer: tokenizerAdapter(hf),
    hasChatTemplate: hf.chat_template !== undefined && hf.chat_template !== null,
    tokenText: (id) => hf.decode([id]),
    applyChatTemplate(messages: readonly ChatMessage[]) {
      const formatted = messages.map((m) => ({
        role: m.role,
        content: typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? { type: 'image' } : { type: 'text', text: c.text })),
      }));
      return hf.apply_chat_template(formatted, { tokenize: false, add_generation_prompt: true }) as string;
    },
  };
}

/** The sessions transformers.js loaded, by graph name, as the assembly's session factory. */
function loadedSessions(model: HfModel, folder: string): SessionFactory {
  return {
    tensors: hfTensors,
    async createSession(graph) {
      const session = model.sessions[graph.name];
      if (!session) throw new ModelConfigError(`transformers.js loaded no ${graph.name} session from ${folder}.`);
      return session;
    },
  };
}

/**
 * A vision-language model run through transformers.js: `@icot/model`'s assembly over the sessions
 * transformers.js loaded (from a folder whose decoder carries attention taps), its tokenizer and
 * chat template; images are preprocessed by `@icot/families` (Pillow-exact, the same
 * pixel_values as the ONNX backend) and fed to its vision session.
 */
export interface TransformersVisionLanguageModel extends AssembledModel {
  /** The transformers.js model object. */
  readonly hfModel: HfModel;
  /** The transformers.js processor. */
  readonly hfProcessor: HfProcessor;
  /**
   * The folder transformers.js loaded: the model folder, or - when attention is tapped - a scratch
   * folder of links to the tapped graph and the model's files, deleted once loaded.
   */
  readonly loadedFrom: string;
}

/**
 * Load a vision-language model with transformers.js by hub id (downloaded with `@icot/hub` into
 * the huggingface_hub cache, shared with the ONNX backend and Python tools) or local folder
 * (never touching the network), ready for ICoT. transformers.js itself only reads local files.
 */
export async function loadTransformersModel(source: string, options: TransformersModelOptions = {}): Promise<TransformersVisionLanguageModel> {
  if (existsSync(source) && !(await stat(source)).isDirectory())
    throw new ModelFilesError(`${source} is a file, not a model folder.`, { hint: 'Pass the folder that holds config.json and onnx/.' });
  const dtype = parseDtype(options.dtype ?? 'fp32');
  const graphFiles = EMBEDDINGS_GRAPHS.map((g) => `onnx/${onnxFileName(g, dtype)}`);
  // an unsupported family is named before its files are looked for (a hub id's config.json comes first)
  const folder = await resolveHubFolder(source, graphFiles, options, checkTransformersFamily);
  const decoderFile = `onnx/${onnxFileName('decoder_model_merged', dtype)}`;
  const files = nodeFileSource(folder);
  // transformers.js must not see an unsupported or incomplete folder: name what is wrong first
  const config = await readJsonFile(files, 'config.json', false).catch(() => undefined); // a missing or broken one is named below
  if (config) checkTransformersFamily(config, source);
  await modelFamilyOf(files, 'transformers.js', embeddingsOnly);
  await checkModelFiles(files, graphFiles);
  const mirror = await tappedMirror(folder, decoderFile, {
    ...(options.attentionLayers ? { attentionLayers: options.attentionLayers } : {}),
    ...(options.tapAttention === false ? { tapAttention: false } : {}),
    ...(options.tappedCacheDir ? { cacheDir: options.tappedCacheDir } : {}),
    // devices other than the CPU do not write fused attention's own attention output: recompute it
    fusedAttentionTap: fusedAttentionTapFor([options.device ?? 'cpu']),
  });
  const hfOptions = { local_files_only: true, dtype, device: options.device ?? 'cpu' } as const;
  const wasRemote = env.allowRemoteModels;
  env.allowRemoteModels = false; // the folder is local: never reach for the network
  let hfModel: HfModel;
  let processor: HfProcessor;
  try {
    processor = (await AutoProcessor.from_pretrained(mirror.dir, hfOptions)) as unknown as HfProcessor;
    hfModel = (await AutoModelForImageTextToText.from_pretrained(mirror.dir, hfOptions as never)) as unknown as HfModel;
  } catch (error) {
    await mirror.release();
    throw new ModelFilesError(`transformers.js cannot load ${folder}: ${(error as Error).message}`, { cause: error });
  } finally {
    env.allowRemoteModels = wasRemote;
  }
  await mirror.release(); // the sessions hold the graphs: the scratch folder of links is not needed any more
  const model = await assembleModel({
    files,
    sessions: loadedSessions(hfModel, folder),
    provider: 'transformers.js',
    modelId: source,
    dtype,
    accept: embeddingsOnly,
    tokenizer: runtimeTokenizer(processor),
    preparedDecoder: mirror.decoder,
    ...(options.prefillChunkSize !== undefined ? { prefillChunkSize: options.prefillChunkSize } : {}),
    release: async () => void (await hfModel.dispose()),
  }).catch(async (error: unknown) => {
    await hfModel.dispose();
    throw error;
  });
  return Object.assign(model, { hfModel, hfProcessor: processor, loadedFrom: mirror.dir });
}
