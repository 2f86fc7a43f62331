import { join } from 'node:path';
import {
  IcotError,
  ModelConfigError,
  throwIfAborted,
  type ChatMessage,
  type DecodingSessionV2,
  type InputSegment,
  type ModelCapabilities,
  type ModelFamilyV2,
  type PreparedPrompt,
  type PromptInput,
  type RgbImage,
  type RopeDescriptionV1,
  type VisionLanguageModelV2,
} from '@icot/core';
import {
  clipRegion,
  describeModelFamily,
  preparePromptWithFamily,
  preprocessClipImage,
  readClipPreprocessorConfig,
  squarePatchGrid,
  TokenImage,
  type ClipPreprocessorConfig,
  type ModelFamilyDescription,
} from '@icot/families';
import { decoderCapabilities, defaultTensorFactory, floatTensor, inputSpecs, OnnxDecodingSession, type DecoderGraph, type OrtSession, type SegmentEncoder } from '@icot/onnx-decoding';
import { loadTokenizer, type HfTokenizer } from '@icot/tokenizer';
import { loadDecoderGraph } from './decoder-graph.js';
import type { OnnxModelSettings } from './embeddings-model.js';
import type { ModelFolder } from './model-folder.js';
import { createOrtSession } from './ort-io.js';

/** The graphs of a unified discrete-token export: VQ image tokenizer and a decoder over token ids. */
export const TOKEN_MODEL_GRAPHS = ['image_tokenizer', 'decoder_model_merged'] as const;

/**
 * A unified discrete-token vision-language model (Chameleon class) on ONNX Runtime: images become
 * VQ token ids in the text vocabulary (`image_tokenizer.onnx`), the decoder takes `input_ids`, and
 * ICoT inserts the selected patches' token ids.
 */
export class OnnxTokenModel implements VisionLanguageModelV2 {
  readonly specificationVersion = 'v2' as const;
  readonly provider = 'onnx';
  readonly family: ModelFamilyV2;
  readonly capabilities: ModelCapabilities;
  readonly rope: RopeDescriptionV1;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];

  private constructor(
    readonly modelId: string,
    readonly tokenizer: HfTokenizer,
    /** The family and sizes read from config.json. */
    readonly description: ModelFamilyDescription,
    private readonly preprocessor: ClipPreprocessorConfig,
    private readonly imageTokenizer: OrtSession,
    readonly decoder: DecoderGraph,
    private readonly prefillChunkSize: number,
  ) {
    this.family = description.family;
    this.capabilities = decoderCapabilities(decoder, { pixels: true, tiledImages: false });
    this.rope = description.rope;
    this.vocabSize = description.vocabSize;
    this.eosTokenIds = description.eosTokenIds;
  }

  /** Load a Chameleon-class model from an opened model folder. */
  static async load(folder: ModelFolder, settings: OnnxModelSettings = {}): Promise<OnnxTokenModel> {
    const preprocessor = readClipPreprocessorConfig(folder.preprocessorConfig);
    const onnxDir = join(folder.path, 'onnx');
    const label = (g: string): string => `onnx/${folder.graphs[g]!.split(/[\\/]/).pop()}`;
    const tokenizer = await loadTokenizer(folder.path);
    const description = describeModelFamily(folder.config, folder.generationConfig, (id) => tokenizer.idToToken(id), ['chameleon']);
    const [imageTokenizer, decoder] = await Promise.all([
      createOrtSession(folder.graphs['image_tokenizer']!, label('image_tokenizer'), onnxDir, settings),
      loadDecoderGraph(folder.graphs['decoder_model_merged']!, label('decoder_model_merged'), onnxDir, description, settings),
    ]);
    if (decoder.mainInput !== 'input_ids')
      throw new ModelConfigError(`${label('decoder_model_merged')} takes ${decoder.mainInput}; a Chameleon-class decoder takes input_ids.`);
    return new OnnxTokenModel(folder.path, tokenizer, description, preprocessor, imageTokenizer, decoder, settings.prefillChunkSize ?? 512);
  }

  async encodeImage(image: RgbImage, options: { signal?: AbortSignal } = {}): Promise<TokenImage> {
    throwIfAborted(options.signal);
    const pixels = preprocessClipImage(image, this.preprocessor);
    const type = inputSpecs(this.imageTokenizer).get('pixel_values')?.type ?? 'float32';
    const out = await this.imageTokenizer.run({ pixel_values: floatTensor(defaultTensorFactory, type, pixels.pixelValues, pixels.dims) });
    const tokens = out[this.imageTokenizer.outputNames[0]!]!;
    const ids = Int32Array.from(tokens.data as BigInt64Array, (v) => Number(v));
    return new TokenImage(ids, squarePatchGrid(ids.length, 'The image tokenizer'), { width: image.width, height: image.height }, clipRegion(image.width, image.height, this.preprocessor), image);
  }

  async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
    return preparePromptWithFamily(this.family, this.tokenizer, (messages) => this.formatChat(messages), input);
  }

  /** The model's chat template, or (Chameleon ships none) the message contents joined with image placeholders. */
  private formatChat(messages: readonly ChatMessage[]): string {
    if (this.tokenizer.hasChatTemplate) return this.tokenizer.applyChatTemplate(messages);
    return messages
      .map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? this.family.imagePlaceholder : c.text)).join('')))
      .join('\n');
  }

  /** The decoder input of a step: token ids, image patches as their token ids. */
  private readonly encodeSegments: SegmentEncoder = async (segments: readonly InputSegment[], length: number) => {
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
    return defaultTensorFactory('int64', ids, [1, length]);
  };

  createSession(): DecodingSessionV2 {
    return new OnnxDecodingSession(this.decoder, this.encodeSegments, this.modelId, this.prefillChunkSize);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.imageTokenizer.release(), this.decoder.session.release()]);
  }
}
