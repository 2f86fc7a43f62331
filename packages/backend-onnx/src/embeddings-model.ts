import { join } from 'node:path';
import {
  IcotError,
  throwIfAborted,
  type Box,
  type DecodingSessionV2,
  type ModelCapabilities,
  type ModelFamilyV2,
  type PatchGrid,
  type PreparedPrompt,
  type PromptInput,
  type RgbImage,
  type RopeDescriptionV1,
  type VisionLanguageModelV2,
} from '@icot/core';
import { FeatureImage, preparePromptWithFamily, type ModelFamilyDescription } from '@icot/families';
import { loadTokenizer, type HfTokenizer } from '@icot/tokenizer';
import { loadDecoderGraph } from './decoder-graph.js';
import { decoderCapabilities, defaultTensorFactory, embeddingsSegmentEncoder, int64Tensor, OnnxDecodingSession, readFloat, type AttentionLayerSetting, type DecoderGraph, type OrtSession } from '@icot/onnx-decoding';
import type { ModelFolder } from './model-folder.js';
import { createOrtSession, type OrtSettings } from './ort-io.js';

/** Settings of an ONNX Runtime model. */
export interface OnnxModelSettings extends OrtSettings {
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /**
   * Add attention taps to the decoder (default true). Without them the graph is loaded unchanged
   * (plain decoding; selectors that need attention are refused).
   */
  readonly tapAttention?: boolean;
  /**
   * Longest run of inputs fed to a fused attention decoder (GroupQueryAttention /
   * MultiHeadAttention) in one call; longer prompts are prefilled in chunks, so reading attention
   * costs [heads, chunk, T] of memory instead of [heads, S, T] (default 512; 0 = no chunking).
   */
  readonly prefillChunkSize?: number;
}

/** The graphs of a vision-language export whose decoder takes embeddings (onnx-community layout). */
export const EMBEDDINGS_MODEL_GRAPHS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;

/** What a family's vision encoder gives for one image. */
export interface VisionOutput {
  readonly features: Float32Array;
  readonly grid: PatchGrid;
  readonly region?: Box;
}

/** The family-specific parts of an embeddings model: config facts and how images reach features. */
export interface EmbeddingsFamilyParts extends ModelFamilyDescription {
  /** Run the family's preprocessing and vision encoder on an image. */
  encodeImage(vision: OrtSession, image: RgbImage): Promise<VisionOutput>;
}

/**
 * A vision-language model whose decoder takes embeddings (Qwen2-VL, LLaVA-style): vision encoder,
 * token-embedding graph and decoder with KV cache in the onnx-community layout; the family parts
 * say how prompts, positions and images work.
 */
export class OnnxEmbeddingsModel implements VisionLanguageModelV2 {
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
    private readonly parts: EmbeddingsFamilyParts,
    private readonly vision: OrtSession,
    private readonly embed: OrtSession,
    /** The decoder graph (with attention taps when supported). */
    readonly decoder: DecoderGraph,
    private readonly prefillChunkSize: number,
  ) {
    this.family = parts.family;
    this.capabilities = decoderCapabilities(decoder, { pixels: true, tiledImages: false });
    this.rope = parts.rope;
    this.vocabSize = parts.vocabSize;
    this.eosTokenIds = parts.eosTokenIds;
    const expected = this.family.positionAxes === 3 ? 3 : 2;
    if (decoder.positionRank !== expected)
      throw new IcotError('model-config', `The decoder's position_ids has rank ${decoder.positionRank}, but the ${this.family.name} family needs rank ${expected}.`, {
        hint: 'The decoder graph does not belong to this config.json.',
      });
  }

  /** Load from an opened model folder with the family parts built from its config and tokenizer. */
  static async load(
    folder: ModelFolder,
    settings: OnnxModelSettings,
    familyParts: (folder: ModelFolder, tokenizer: HfTokenizer) => EmbeddingsFamilyParts,
  ): Promise<OnnxEmbeddingsModel> {
    const onnxDir = join(folder.path, 'onnx');
    const label = (g: string): string => `onnx/${folder.graphs[g]!.split(/[\\/]/).pop()}`;
    const tokenizer = await loadTokenizer(folder.path);
    const parts = familyParts(folder, tokenizer);
    const [vision, embed, decoder] = await Promise.all([
      createOrtSession(folder.graphs['vision_encoder']!, label('vision_encoder'), onnxDir, settings),
      createOrtSession(folder.graphs['embed_tokens']!, label('embed_tokens'), onnxDir, settings),
      loadDecoderGraph(folder.graphs['decoder_model_merged']!, label('decoder_model_merged'), onnxDir, parts, settings),
    ]);
    return new OnnxEmbeddingsModel(folder.path, tokenizer, parts, vision, embed, decoder, settings.prefillChunkSize ?? 512);
  }

  async encodeImage(image: RgbImage, options: { signal?: AbortSignal } = {}): Promise<FeatureImage> {
    throwIfAborted(options.signal);
    const out = await this.parts.encodeImage(this.vision, image);
    const hidden = this.parts.hiddenSize;
    const patches = out.grid.rows * out.grid.cols;
    if (out.features.length !== patches * hidden)
      throw new IcotError('model-config', `The vision encoder returned ${out.features.length} values, expected ${patches} patches x ${hidden}.`, {
        hint: 'The vision encoder does not match config.json (hidden size or patch grid).',
      });
    return new FeatureImage(out.features, hidden, out.grid, { width: image.width, height: image.height }, out.region, image);
  }

  async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
    return preparePromptWithFamily(this.family, this.tokenizer, (messages) => this.tokenizer.applyChatTemplate(messages), input);
  }

  /** Token embeddings of `ids`, `[ids.length, hidden]` row-major. */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embed.run({ input_ids: int64Tensor(defaultTensorFactory, ids, [1, ids.length]) });
    return readFloat(out[this.embed.outputNames[0]!]!);
  }

  createSession(): DecodingSessionV2 {
    const encodeSegments = embeddingsSegmentEncoder({
      hidden: this.parts.hiddenSize,
      inputType: this.decoder.mainInputType,
      embedTokens: (ids) => this.embedTokens(ids),
      tensors: defaultTensorFactory,
      featuresOf: (image) => (image instanceof FeatureImage && image.hidden === this.parts.hiddenSize ? image.features : undefined),
    });
    return new OnnxDecodingSession(this.decoder, encodeSegments, this.modelId, this.prefillChunkSize);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.embed.release(), this.decoder.session.release()]);
  }
}
