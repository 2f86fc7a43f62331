import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForImageTextToText, AutoProcessor, env, Tensor as HfTensor } from '@huggingface/transformers';
import {
  ModelConfigError,
  ModelFilesError,
  throwIfAborted,
  type ChatMessage,
  type DecodingSessionV2,
  type ModelCapabilities,
  type ModelFamilyV2,
  type PreparedPrompt,
  type PromptInput,
  type RgbImage,
  type RopeDescriptionV1,
  type TokenizerV1,
  type VisionLanguageModelV2,
} from '@icot/core';
import {
  FeatureImage,
  describeModelFamily,
  preparePromptWithFamily,
  preprocessClipImage,
  preprocessQwen2VlImage,
  squarePatchGrid,
  type ModelFamilyDescription,
  readClipPreprocessorConfig,
  readQwen2VlPreprocessorConfig,
} from '@icot/families';
import {
  decoderCapabilities,
  describeDecoder,
  embeddingsSegmentEncoder,
  float32ToFloat16,
  inputSpecs,
  OnnxDecodingSession,
  readFloat,
  type AttentionLayerSetting,
  type DecoderGraph,
  type OrtSession,
  type TensorFactory,
} from '@icot/onnx-decoding';
import type { Tensor as OrtTensor } from 'onnxruntime-common';
import { resolveHubFolder, type HubSettings } from './hub.js';
import { tappedMirror } from './mirror.js';

/** transformers.js weight variants and their file suffixes. */
export const DTYPE_SUFFIXES: Readonly<Record<string, string>> = { fp32: '', fp16: '_fp16', q8: '_quantized', int8: '_int8', uint8: '_uint8', q4: '_q4', q4f16: '_q4f16', bnb4: '_bnb4' };

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

/** The parts of a transformers.js model object this backend uses. */
export interface HfModel {
  sessions: Record<string, OrtSession>;
  encode_image(inputs: Record<string, unknown>): Promise<HfTensor>;
  encode_text(inputs: { input_ids: HfTensor }): Promise<HfTensor>;
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
}

/** The parts of a transformers.js processor this backend uses. */
export interface HfProcessor {
  tokenizer: HfTokenizerLike;
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

/** The family description plus how this backend turns an image into features. */
interface FamilyFacts extends ModelFamilyDescription {
  /** Preprocess an image (shared, Pillow-exact) and run transformers.js's vision encoder on it. */
  encode(model: HfModel, image: RgbImage): Promise<FeatureImage>;
}

/**
 * pixel_values as a transformers.js tensor of the element type the vision encoder takes: float16
 * for exports whose graph inputs are half precision (transformers.js itself feeds float32 there and
 * fails), float32 otherwise.
 */
function pixelTensor(model: HfModel, values: Float32Array, dims: readonly number[]): HfTensor {
  const session = model.sessions['vision_encoder'];
  const type = session ? inputSpecs(session).get('pixel_values')?.type : undefined;
  return type === 'float16' ? new HfTensor('float16', float32ToFloat16(values), [...dims]) : new HfTensor('float32', values, [...dims]);
}

/**
 * Images are preprocessed by `@icot/families` (the slow PIL-based Hugging Face processors, bit for
 * bit), not by transformers.js's processor: that one resizes with sharp without antialiasing, so its
 * pixel_values differ from the Python reference (and from the ONNX backend). Both backends thus
 * feed the vision encoder the same pixel_values.
 */
function familyFacts(config: Record<string, unknown>, generation: Record<string, unknown>, preprocessor: Record<string, unknown>, tokenText: (id: number) => string | undefined): FamilyFacts {
  const description = describeModelFamily(config, generation, tokenText, ['qwen2-vl', 'llava']);
  const size = (image: RgbImage) => ({ width: image.width, height: image.height });
  const features = (tensor: HfTensor) => readFloat(tensor.ort_tensor as unknown as OrtTensor);
  if (description.kind === 'qwen2-vl') {
    const qwen = readQwen2VlPreprocessorConfig(preprocessor);
    return {
      ...description,
      async encode(model, image) {
        const pixels = preprocessQwen2VlImage(image, qwen);
        const out = await model.encode_image({
          pixel_values: pixelTensor(model, pixels.pixelValues, pixels.dims),
          image_grid_thw: new HfTensor('int64', BigInt64Array.from(pixels.gridThw, (v) => BigInt(v)), [1, 3]),
        });
        const merge = description.spatialMergeSize;
        return new FeatureImage(features(out), description.hiddenSize, { rows: pixels.gridThw[1] / merge, cols: pixels.gridThw[2] / merge }, size(image), undefined, image);
      },
    };
  }
  const clip = readClipPreprocessorConfig(preprocessor);
  return {
    ...description,
    async encode(model, image) {
      const pixels = preprocessClipImage(image, clip);
      const out = await model.encode_image({ pixel_values: pixelTensor(model, pixels.pixelValues, pixels.dims) });
      const grid = squarePatchGrid(out.dims.length === 3 ? out.dims[1]! : out.dims[0]!);
      return new FeatureImage(features(out), description.hiddenSize, grid, size(image), pixels.region, image);
    },
  };
}

async function readJson(path: string, required: boolean): Promise<Record<string, unknown>> {
  if (!existsSync(path)) {
    if (required) throw new ModelFilesError(`${path} is missing.`, { missing: [path] });
    return {};
  }
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFilesError(`${path} is not valid JSON (${(error as Error).message}).`, { hint: 'Download the file again.', cause: error });
  }
}

const GRAPHS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'];

/**
 * A vision-language model run through transformers.js: its processor (tokenizer, chat template)
 * and its ONNX sessions, driven step by step with icot's KV-cache loop; images are preprocessed by
 * `@icot/families` (Pillow-exact, the same pixel_values as the ONNX backend); attention comes from
 * tapped decoder graphs that transformers.js loads from a cached copy.
 */
export class TransformersVisionLanguageModel implements VisionLanguageModelV2 {
  readonly specificationVersion = 'v2' as const;
  readonly provider = 'transformers.js';
  readonly family: ModelFamilyV2;
  readonly capabilities: ModelCapabilities;
  readonly rope: RopeDescriptionV1;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly tokenizer: TokenizerV1;
  /**
   * The folder transformers.js loaded: the model folder, or - when attention is tapped - a scratch
   * folder of links to the tapped graph and the model's files, deleted once loaded.
   */
  readonly loadedFrom: string;

  private constructor(
    readonly modelId: string,
    /** The transformers.js model object. */
    readonly hfModel: HfModel,
    /** The transformers.js processor. */
    readonly hfProcessor: HfProcessor,
    private readonly facts: FamilyFacts,
    private readonly decoder: DecoderGraph,
    loadedFrom: string,
    private readonly prefillChunkSize: number,
  ) {
    this.family = facts.family;
    this.vocabSize = facts.vocabSize;
    this.eosTokenIds = facts.eosTokenIds;
    this.tokenizer = tokenizerAdapter(hfProcessor.tokenizer);
    this.capabilities = decoderCapabilities(decoder, { pixels: true, tiledImages: false });
    this.rope = facts.rope;
    this.loadedFrom = loadedFrom;
  }

  /** Load a model by hub id or local folder (see {@link loadTransformersModel}). */
  static async load(source: string, options: TransformersModelOptions = {}): Promise<TransformersVisionLanguageModel> {
    const dtype = options.dtype ?? 'fp32';
    const suffix = DTYPE_SUFFIXES[dtype];
    if (suffix === undefined) throw new ModelConfigError(`Unknown dtype '${dtype}'.`, { hint: `Use one of: ${Object.keys(DTYPE_SUFFIXES).join(', ')}.` });
    const folder = await resolveHubFolder(source, GRAPHS.map((g) => `onnx/${g}${suffix}.onnx`), options);
    const required = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', ...GRAPHS.map((g) => `onnx/${g}${suffix}.onnx`)];
    const missing = required.filter((f) => !existsSync(join(folder, f)));
    if (missing.length)
      throw new ModelFilesError(`The model folder ${folder} is incomplete: missing ${missing.join(', ')}.`, {
        missing,
        hint: 'Download the missing files, or pick a weight variant that exists with dtype.',
      });
    const [config, generation, preprocessor] = await Promise.all([
      readJson(join(folder, 'config.json'), true),
      readJson(join(folder, 'generation_config.json'), false),
      readJson(join(folder, 'preprocessor_config.json'), true),
    ]);
    const decoderFile = `onnx/decoder_model_merged${suffix}.onnx`;
    const mirror = await tappedMirror(folder, decoderFile, {
      ...(options.attentionLayers ? { attentionLayers: options.attentionLayers } : {}),
      ...(options.tapAttention === false ? { tapAttention: false } : {}),
      ...(options.tappedCacheDir ? { cacheDir: options.tappedCacheDir } : {}),
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
      throw new ModelFilesError(`transformers.js cannot load ${folder}: ${(error as Error).message}`, { cause: error });
    } finally {
      env.allowRemoteModels = wasRemote;
      await mirror.release(); // the sessions hold the graphs: the scratch folder of links is not needed any more
    }
    const session = hfModel.sessions['decoder_model_merged'];
    if (!session) throw new ModelConfigError(`transformers.js loaded no decoder_model_merged session from ${folder}.`);
    const facts = familyFacts(config, generation, preprocessor, (id) => processor.tokenizer.decode([id]));
    const decoder = describeDecoder(mirror.decoder, session, facts);
    return new TransformersVisionLanguageModel(source, hfModel, processor, facts, decoder, mirror.dir, options.prefillChunkSize ?? 512);
  }

  async encodeImage(image: RgbImage, options: { signal?: AbortSignal } = {}): Promise<FeatureImage> {
    throwIfAborted(options.signal);
    return this.facts.encode(this.hfModel, image);
  }

  async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
    return preparePromptWithFamily(this.family, this.tokenizer, (messages) => this.applyChatTemplate(messages), input);
  }

  private applyChatTemplate(messages: readonly ChatMessage[]): string {
    const formatted = messages.map((m) => ({
      role: m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? { type: 'image' } : { type: 'text', text: c.text })),
    }));
    return this.hfProcessor.tokenizer.apply_chat_template(formatted, { tokenize: false, add_generation_prompt: true }) as string;
  }

  /** Token embeddings through transformers.js's embedding session. */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const inputIds = new HfTensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
    const out = await this.hfModel.encode_text({ input_ids: inputIds });
    return readFloat(out.ort_tensor as unknown as OrtTensor);
  }

  createSession(): DecodingSessionV2 {
    const encode = embeddingsSegmentEncoder({
      hidden: this.facts.hiddenSize,
      inputType: this.decoder.mainInputType,
      embedTokens: (ids) => this.embedTokens(ids),
      tensors: hfTensors,
      featuresOf: (image) => (image instanceof FeatureImage && image.hidden === this.facts.hiddenSize ? image.features : undefined),
    });
    return new OnnxDecodingSession(this.decoder, encode, this.modelId, this.prefillChunkSize, hfTensors);
  }

  async dispose(): Promise<void> {
    await this.hfModel.dispose();
  }
}

/**
 * Load a vision-language model with transformers.js by hub id (downloaded with `@icot/hub` into
 * the huggingface_hub cache, shared with the ONNX backend and Python tools) or local folder
 * (never touching the network), ready for ICoT. transformers.js itself only reads local files.
 */
export async function loadTransformersModel(source: string, options: TransformersModelOptions = {}): Promise<TransformersVisionLanguageModel> {
  if (existsSync(source) && !(await stat(source)).isDirectory())
    throw new ModelFilesError(`${source} is a file, not a model folder.`, { hint: 'Pass the folder that holds config.json and onnx/.' });
  return TransformersVisionLanguageModel.load(source, options);
}
