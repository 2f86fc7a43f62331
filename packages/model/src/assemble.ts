import {
  IcotError,
  ModelConfigError,
  ModelFilesError,
  throwIfAborted,
  type ChatMessage,
  type DecodingSessionV2,
  type EncodedImage,
  type InputSegment,
  type ModelCapabilities,
  type ModelFamilyV2,
  type PreparedPrompt,
  type PromptInput,
  type RgbImage,
  type RopeDescriptionV1,
  type TokenizerV1,
  type VisionLanguageModelV2,
} from '@icot/core';
import { FeatureImage, preparePromptWithFamily, TiledFeatureImage, TokenImage, type ModelFamilyDescription } from '@icot/families';
import {
  decoderCapabilities,
  embeddingsSegmentEncoder,
  int64Tensor,
  OnnxDecodingSession,
  readFloat,
  type AttentionLayerSetting,
  type DecoderGraph,
  type OrtSession,
  type PreparedDecoder,
  type SegmentEncoder,
  type TensorFactory,
} from '@icot/onnx-decoding';
import { readTokenizer } from '@icot/tokenizer';
import { loadDecoder } from './decoder.js';
import { onnxFileName, type OnnxDtypeSetting } from './dtypes.js';
import { readJsonFile, type FileSource } from './files.js';
import { familyFor, familyGraphs, type FamilyEntry, type FamilyKind } from './registry.js';
import type { SessionFactory } from './sessions.js';

/** A tokenizer the runtime brings (transformers.js), instead of `@icot/tokenizer` reading the model's files. */
export interface RuntimeTokenizer {
  readonly tokenizer: TokenizerV1;
  /** Format chat messages with the model's chat template (a generation prompt appended); throws when there is none. */
  applyChatTemplate(messages: readonly ChatMessage[]): string;
  /** Whether the model has a chat template. */
  readonly hasChatTemplate: boolean;
  /** The vocabulary string of a token id (for the family's image placeholder). */
  tokenText(id: number): string | undefined;
}

/** How to assemble a model: where its files come from, how its sessions are made, and the run's settings. */
export interface AssembleModelOptions {
  readonly files: FileSource;
  readonly sessions: SessionFactory;
  /** Backend name reported as `provider` (e.g. `onnx`, `transformers.js`). */
  readonly provider: string;
  /** Model id reported as `modelId` (default the files' location). */
  readonly modelId?: string;
  /** Weight variant: fp32 (default), fp16, q8, q4, ... or one per graph. */
  readonly dtype?: OnnxDtypeSetting;
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /**
   * Add attention taps to the decoder (default true). Without them the graph is loaded unchanged
   * (plain decoding; selectors that need attention are refused).
   */
  readonly tapAttention?: boolean;
  /**
   * Longest run of inputs fed to a fused attention decoder (GroupQueryAttention /
   * MultiHeadAttention) in one call; longer prompts are prefilled in chunks (default 512; 0 = none).
   */
  readonly prefillChunkSize?: number;
  /** Families this backend runs (default all). */
  readonly accept?: (entry: FamilyEntry) => boolean;
  /** The runtime's own tokenizer and chat template (default: `@icot/tokenizer` on the model's files). */
  readonly tokenizer?: RuntimeTokenizer;
  /** A decoder the adapter already prepared and loaded through `sessions` (not read again). */
  readonly preparedDecoder?: PreparedDecoder;
  /** Diagnostics (why a decoder keeps every row of logits); e.g. stderr under ICOT_DEBUG=1. */
  readonly debug?: (message: string) => void;
  /** Release what the sessions hold (default: release each session). */
  readonly release?: () => Promise<void>;
  readonly signal?: AbortSignal;
}

/** The files every model needs besides its graphs. */
const REQUIRED_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

/**
 * Check that every file the run needs is there: the JSON configs, the tokenizer files and
 * `onnx/<graph><dtype suffix>.onnx` for each graph. Missing files are listed together, with the
 * variants that exist.
 */
export async function checkModelFiles(files: FileSource, graphFiles: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const file of [...REQUIRED_FILES, ...graphFiles]) if (!(await files.exists(file))) missing.push(file);
  if (!missing.length) return;
  const available = ((await files.list?.('onnx').catch(() => [])) ?? []).filter((f) => f.endsWith('.onnx'));
  const variants = available.length ? ` The onnx/ folder has: ${available.join(', ')}.` : ' There is no onnx/ folder with .onnx files.';
  const onlyGraphs = missing.every((m) => m.startsWith('onnx/'));
  throw new ModelFilesError(`The model folder ${files.location} is incomplete: missing ${missing.join(', ')}.${variants}`, {
    missing,
    hint:
      onlyGraphs && available.length
        ? 'Pick a weight variant that exists with --dtype (fp32, fp16, q8, q4, ...), or download the missing files.'
        : 'Download the complete model (configs, tokenizer and onnx/ files), e.g. from the onnx-community organisation on Hugging Face.',
  });
}

/** The family a model folder holds, from its `config.json`, among those `accept` takes. */
export async function modelFamilyOf(files: FileSource, backend: string, accept?: (entry: FamilyEntry) => boolean): Promise<{ readonly kind: FamilyKind; readonly entry: FamilyEntry; readonly config: Record<string, unknown> }> {
  const config = await readJsonFile(files, 'config.json', false);
  if (!config) {
    await checkModelFiles(files, []);
    throw new ModelFilesError(`${files.describe('config.json')} is missing.`, { missing: ['config.json'] });
  }
  if (typeof config['model_type'] !== 'string')
    throw new ModelConfigError(`${files.describe('config.json')} has no model_type.`, { hint: 'Use the config.json of a Hugging Face model export.' });
  return { ...familyFor(config['model_type'], files.location, backend, accept), config };
}

/**
 * Assemble a vision-language model from an onnx-community export: the family from `config.json`
 * (the registry), its pure logic and preprocessing, the tokenizer, and its graphs through the
 * session factory - once, for every runtime. The Node backend passes a folder and
 * onnxruntime-node sessions, the transformers.js backend its loaded sessions and tokenizer, a
 * browser backend URLs and onnxruntime-web.
 */
export async function assembleModel(options: AssembleModelOptions): Promise<AssembledModel> {
  const { files, sessions } = options;
  throwIfAborted(options.signal);
  const { kind, entry, config } = await modelFamilyOf(files, options.provider, options.accept);
  const graphs = familyGraphs(entry);
  const graphFile = (graph: string): string => `onnx/${onnxFileName(graph, options.dtype)}`;
  await checkModelFiles(files, graphs.map(graphFile));
  const [generationConfig, preprocessorConfig, processorConfig] = await Promise.all([
    readJsonFile(files, 'generation_config.json', false),
    readJsonFile(files, 'preprocessor_config.json', true),
    readJsonFile(files, 'processor_config.json', false),
  ]);
  const tokenizer = options.tokenizer ?? (await fileTokenizer(files));
  const description = entry.describe(config, generationConfig ?? {}, (id) => tokenizer.tokenText(id), {
    tokenizer: tokenizer.tokenizer,
    ...(processorConfig ? { processorConfig } : {}),
  });
  const [first, embed] = graphs;
  const decoderFile = graphFile('decoder_model_merged');
  const graphSession = (graph: string): Promise<OrtSession> => sessions.createSession({ name: graph, file: graphFile(graph), externalDataFiles: [], label: graphFile(graph) });
  const [imageSession, embedSession, decoder] = await Promise.all([
    graphSession(first!),
    entry.decoderInput === 'embeddings' ? graphSession(embed!) : Promise.resolve(undefined),
    loadDecoder({
      files,
      sessions,
      file: decoderFile,
      hints: description,
      ...(options.attentionLayers ? { attentionLayers: options.attentionLayers } : {}),
      ...(options.tapAttention === false ? { tapAttention: false } : {}),
      ...(options.preparedDecoder ? { prepared: options.preparedDecoder } : {}),
      ...(options.debug ? { debug: options.debug } : {}),
    }),
  ]);
  const expectedInput = entry.decoderInput === 'embeddings' ? 'inputs_embeds' : 'input_ids';
  if (decoder.mainInput !== expectedInput)
    throw new ModelConfigError(`${decoderFile} takes ${decoder.mainInput}; a ${description.family.name} decoder takes ${expectedInput}.`, {
      hint: 'The decoder graph does not belong to this config.json.',
    });
  const expectedRank = description.family.positionAxes === 3 ? 3 : 2;
  if (decoder.positionRank !== expectedRank)
    throw new ModelConfigError(`The decoder's position_ids has rank ${decoder.positionRank}, but the ${description.family.name} family needs rank ${expectedRank}.`, {
      hint: 'The decoder graph does not belong to this config.json.',
    });
  const release =
    options.release ?? (() => Promise.all([imageSession, embedSession, decoder.session].map((s) => s?.release())).then(() => undefined));
  return new AssembledModel({
    provider: options.provider,
    modelId: options.modelId ?? files.location,
    kind,
    entry,
    description,
    tokenizer,
    imageEncoder: entry.images({ preprocessorConfig: preprocessorConfig!, config, ...(processorConfig ? { processorConfig } : {}), description, session: imageSession, tensors: sessions.tensors }),
    embedSession,
    decoder,
    tensors: sessions.tensors,
    prefillChunkSize: options.prefillChunkSize ?? 512,
    release,
  });
}

/** `@icot/tokenizer` reading the model's tokenizer files. */
async function fileTokenizer(files: FileSource): Promise<RuntimeTokenizer> {
  const tokenizer = await readTokenizer({ readText: async (name) => ((await files.exists(name)) ? files.readText(name) : undefined) }, files.location);
  return {
    tokenizer,
    applyChatTemplate: (messages) => tokenizer.applyChatTemplate(messages),
    hasChatTemplate: tokenizer.hasChatTemplate,
    tokenText: (id) => tokenizer.idToToken(id),
  };
}

/** The parts an {@link AssembledModel} is made of. */
interface ModelParts {
  readonly provider: string;
  readonly modelId: string;
  readonly kind: FamilyKind;
  readonly entry: FamilyEntry;
  readonly description: ModelFamilyDescription;
  readonly tokenizer: RuntimeTokenizer;
  readonly imageEncoder: (image: RgbImage) => Promise<EncodedImage>;
  readonly embedSession: OrtSession | undefined;
  readonly decoder: DecoderGraph;
  readonly tensors: TensorFactory;
  readonly prefillChunkSize: number;
  readonly release: () => Promise<void>;
}

/** The feature rows of an image an embeddings model encoded. */
function featuresOf(image: EncodedImage, hidden: number): Float32Array | undefined {
  return (image instanceof FeatureImage || image instanceof TiledFeatureImage) && image.hidden === hidden ? image.features : undefined;
}

/**
 * A vision-language model assembled from an onnx-community export (specification v2): the
 * family's prompt layout, positions and image front end, a KV-cache decoding session over the
 * decoder graph (attention taps, forks, batched side runs), on whichever runtime made the sessions.
 */
export class AssembledModel implements VisionLanguageModelV2 {
  readonly specificationVersion = 'v2' as const;
  readonly provider: string;
  readonly modelId: string;
  /** The family kind (registry key). */
  readonly kind: FamilyKind;
  readonly family: ModelFamilyV2;
  readonly capabilities: ModelCapabilities;
  readonly rope: RopeDescriptionV1;
  readonly tokenizer: TokenizerV1;
  readonly vocabSize: number;
  /** The text model's `max_position_embeddings` from config.json; undefined when it has none. */
  readonly maxContextTokens: number | undefined;
  readonly eosTokenIds: readonly number[];
  /** The family and sizes read from config.json. */
  readonly description: ModelFamilyDescription;
  /** The decoder graph (with attention taps when supported). */
  readonly decoder: DecoderGraph;
  private readonly encodeSegments: SegmentEncoder;

  /** Made by {@link assembleModel}. @internal */
  constructor(private readonly parts: ModelParts) {
    this.provider = parts.provider;
    this.modelId = parts.modelId;
    this.kind = parts.kind;
    this.description = parts.description;
    this.family = parts.description.family;
    this.rope = parts.description.rope;
    this.vocabSize = parts.description.vocabSize;
    this.maxContextTokens = parts.description.maxContextTokens;
    this.eosTokenIds = parts.description.eosTokenIds;
    this.tokenizer = parts.tokenizer.tokenizer;
    this.decoder = parts.decoder;
    this.capabilities = decoderCapabilities(parts.decoder, { pixels: true, tiledImages: parts.entry.tiledImages });
    const hidden = parts.description.hiddenSize;
    this.encodeSegments =
      parts.entry.decoderInput === 'embeddings'
        ? embeddingsSegmentEncoder({
            hidden,
            inputType: parts.decoder.mainInputType,
            embedTokens: (ids) => this.embedTokens(ids),
            tensors: parts.tensors,
            featuresOf: (image) => featuresOf(image, hidden),
          })
        : (segments, length) => Promise.resolve(tokenIdsInput(segments, length, parts.tensors));
  }

  async encodeImage(image: RgbImage, options: { signal?: AbortSignal } = {}): Promise<EncodedImage> {
    throwIfAborted(options.signal);
    return this.parts.imageEncoder(image);
  }

  async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
    return preparePromptWithFamily(this.family, this.tokenizer, (messages) => this.formatChat(messages), input);
  }

  /** The model's chat template, or (for families that allow it, e.g. Chameleon, which ships none) the message contents joined with image placeholders. */
  private formatChat(messages: readonly ChatMessage[]): string {
    const { tokenizer, entry } = this.parts;
    if (tokenizer.hasChatTemplate || entry.withoutChatTemplate === 'template-required')
      return tokenizer.applyChatTemplate(
        entry.chatContent === 'parts' ? messages.map((m) => (typeof m.content === 'string' ? { ...m, content: [{ type: 'text' as const, text: m.content }] } : m)) : messages,
      );
    return messages
      .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? this.family.imagePlaceholder : c.text)).join('')))
      .join('\n');
  }

  /** Token embeddings of `ids`, `[ids.length, hidden]` row-major (models whose decoder takes embeddings). */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const session = this.parts.embedSession;
    if (!session) throw new IcotError('internal', `${this.family.name} models feed token ids, not embeddings.`);
    const out = await session.run({ input_ids: int64Tensor(this.parts.tensors, ids, [1, ids.length]) });
    return readFloat(out[session.outputNames[0]!]!);
  }

  createSession(): DecodingSessionV2 {
    return new OnnxDecodingSession(this.decoder, this.encodeSegments, this.modelId, this.parts.prefillChunkSize, this.parts.tensors);
  }

  async dispose(): Promise<void> {
    await this.parts.release();
  }
}

/** The decoder input of a step for token-id models: token ids, image patches as their token ids. */
function tokenIdsInput(segments: readonly InputSegment[], length: number, tensors: TensorFactory) {
  const ids = new BigInt64Array(length);
  let i = 0;
  for (const s of segments) {
    if (s.type === 'tokens') for (const id of s.ids) ids[i++] = BigInt(id);
    else {
      if (!(s.image instanceof TokenImage)) throw new IcotError('internal', 'The image segment was not encoded by this model; use model.encodeImage().');
      const tokens = s.image.tokenIds;
      if (s.patches) for (const p of s.patches) ids[i++] = BigInt(tokens[p]!);
      else for (const t of tokens) ids[i++] = BigInt(t);
    }
  }
  return tensors('int64', ids, [1, length]);
}
