import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AttentionUnavailableError,
  IcotError,
  ModelConfigError,
  ModelFilesError,
  OptionError,
  segmentLength,
  throwIfAborted,
  type Box,
  type DecodingSessionV1,
  type EncodedImage,
  type ModelCapabilities,
  type ModelFamilyV1,
  type PatchGrid,
  type PreparedPrompt,
  type PromptInput,
  type RgbImage,
  type StepInput,
  type StepOutput,
  type VisionLanguageModelV1,
} from '@icot/core';
import {
  createQwen2VlFamily,
  gridPatchBox,
  preprocessQwen2VlImage,
  readQwen2VlConfig,
  readQwen2VlPreprocessorConfig,
  type Qwen2VlModelConfig,
  type Qwen2VlPreprocessorConfig,
} from '@icot/families';
import { loadTokenizer, type HfTokenizer } from '@icot/tokenizer';
import { findAttentionSites, tapAttention } from './attention-tap.js';
import type { ModelFolder } from './model-folder.js';
import { createOrtSession, emptyTensor, floatTensor, inputSpecs, int64Tensor, OnesMask, readFloat, type OrtSettings, type ort } from './ort-io.js';
import { parseOnnxModel } from '@icot/onnx-proto';

/** Which decoder layers the attention row averages: all (the paper's), a list, or the last N. */
export type AttentionLayerSetting = 'all' | readonly number[] | { readonly last: number };

/** Settings of an ONNX Runtime model. */
export interface OnnxModelSettings extends OrtSettings {
  /** Decoder layers whose attention is averaged (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
}

/** The graphs of a Qwen2-VL export in the onnx-community layout. */
export const QWEN2_VL_GRAPHS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;

/** A Qwen2-VL image after the vision encoder: one feature row per merged patch. */
export class Qwen2VlEncodedImage implements EncodedImage {
  readonly patchCount: number;
  constructor(
    /** `[patchCount, hidden]` row-major. */
    readonly features: Float32Array,
    readonly hidden: number,
    readonly grid: PatchGrid,
    readonly size: { readonly width: number; readonly height: number },
    /** The encoder's `[t, h, w]` patch grid (before merging). */
    readonly gridThw: readonly [number, number, number],
  ) {
    this.patchCount = grid.rows * grid.cols;
  }

  patchBox(index: number): Box {
    return gridPatchBox(index, this.grid, this.size);
  }
}

function resolveLayers(setting: AttentionLayerSetting | undefined, count: number): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (setting === undefined || setting === 'all') return all;
  if ('last' in setting) {
    if (!Number.isInteger(setting.last) || setting.last < 1 || setting.last > count)
      throw new OptionError(`attentionLayers.last must be in 1..${count}, got ${setting.last}.`);
    return all.slice(count - setting.last);
  }
  const list = [...setting];
  for (const l of list)
    if (!Number.isInteger(l) || l < 0 || l >= count) throw new OptionError(`Attention layer ${l} does not exist; the decoder has layers 0..${count - 1}.`);
  if (!list.length) throw new OptionError('attentionLayers is an empty list.', { hint: "Use 'all' or at least one layer index." });
  return list;
}

interface DecoderGraph {
  readonly session: ort.InferenceSession;
  readonly tapOutputs: readonly string[] | undefined;
  readonly unavailableReason: string | undefined;
  readonly embedsType: string;
  readonly pastType: string;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layers: number;
}

async function loadDecoder(path: string, label: string, modelDir: string, cfg: Qwen2VlModelConfig, settings: OrtSettings): Promise<DecoderGraph> {
  const bytes = new Uint8Array(await readFile(path));
  let info;
  try {
    info = parseOnnxModel(bytes);
  } catch (error) {
    throw new ModelFilesError(`${label} is not a readable ONNX model: ${(error as Error).message}`, { hint: 'Download the file again.', cause: error });
  }
  const missing: string[] = [];
  for (const file of info.externalDataFiles) {
    try {
      await stat(join(modelDir, file));
    } catch {
      missing.push(`onnx/${file}`);
    }
  }
  if (missing.length)
    throw new ModelFilesError(`${label} keeps its weights in ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} missing.`, {
      missing,
      hint: 'Download the .onnx_data file(s) next to the .onnx file.',
    });
  const names = new Set(info.inputs.map((i) => i.name));
  const need = ['inputs_embeds', 'attention_mask', 'position_ids', 'past_key_values.0.key'];
  const lacking = need.filter((n) => !names.has(n));
  if (lacking.length)
    throw new ModelConfigError(`${label} lacks the inputs ${lacking.join(', ')}.`, {
      hint: 'Expected the onnx-community Qwen2-VL decoder contract: inputs_embeds, attention_mask, position_ids [3,B,S], past_key_values.{i}.key/value -> logits, present.{i}.key/value.',
    });
  const layers = info.inputs.filter((i) => /^past_key_values\.\d+\.key$/.test(i.name)).length;
  const sites = findAttentionSites(info, layers);
  const tapped = sites.supported ? tapAttention(info, sites) : undefined;
  const session = await createOrtSession(tapped ? tapped.bytes : path, label, modelDir, settings);
  const specs = inputSpecs(session);
  const past = specs.get('past_key_values.0.key')!;
  const kvHeads = typeof past.shape[1] === 'number' ? past.shape[1] : cfg.numKeyValueHeads;
  const headDim = typeof past.shape[3] === 'number' ? past.shape[3] : cfg.headDim;
  return {
    session,
    tapOutputs: tapped?.outputs,
    unavailableReason: sites.supported ? undefined : sites.reason,
    embedsType: specs.get('inputs_embeds')!.type,
    pastType: past.type,
    kvHeads,
    headDim,
    layers,
  };
}

/**
 * Qwen2-VL / Qwen2.5-VL on ONNX Runtime: the onnx-community three-graph layout (vision encoder,
 * token embeddings, decoder with KV cache), this package's tokenizer and preprocessing, and the
 * decoder's attention read through graph taps.
 */
export class OnnxQwen2VlModel implements VisionLanguageModelV1 {
  readonly specificationVersion = 'v1' as const;
  readonly provider = 'onnx';
  readonly family: ModelFamilyV1;
  readonly capabilities: ModelCapabilities;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  /** Decoder layers averaged into the attention row. */
  readonly attentionLayers: readonly number[];

  private constructor(
    readonly modelId: string,
    readonly tokenizer: HfTokenizer,
    readonly config: Qwen2VlModelConfig,
    private readonly preprocessor: Qwen2VlPreprocessorConfig,
    private readonly vision: ort.InferenceSession,
    private readonly embed: ort.InferenceSession,
    private readonly decoder: DecoderGraph,
    attentionLayers: AttentionLayerSetting | undefined,
  ) {
    this.family = createQwen2VlFamily({
      visionStartTokenId: config.visionStartTokenId,
      visionEndTokenId: config.visionEndTokenId,
      imageTokenId: config.imageTokenId,
      imagePlaceholder: tokenizer.idToToken(config.imageTokenId) ?? '<|image_pad|>',
    });
    this.capabilities = decoder.tapOutputs
      ? { attention: true }
      : { attention: false, attentionUnavailableReason: decoder.unavailableReason ?? 'unknown' };
    this.vocabSize = config.vocabSize;
    this.eosTokenIds = config.eosTokenIds;
    this.attentionLayers = resolveLayers(attentionLayers, decoder.layers);
  }

  /** Load a Qwen2-VL model from an opened model folder. */
  static async load(folder: ModelFolder, settings: OnnxModelSettings = {}): Promise<OnnxQwen2VlModel> {
    const config = readQwen2VlConfig(folder.config, folder.generationConfig);
    const preprocessor = readQwen2VlPreprocessorConfig(folder.preprocessorConfig);
    const onnxDir = join(folder.path, 'onnx');
    const label = (g: string): string => `onnx/${folder.graphs[g]!.split(/[\\/]/).pop()}`;
    const [tokenizer, vision, embed, decoder] = await Promise.all([
      loadTokenizer(folder.path),
      createOrtSession(folder.graphs['vision_encoder']!, label('vision_encoder'), onnxDir, settings),
      createOrtSession(folder.graphs['embed_tokens']!, label('embed_tokens'), onnxDir, settings),
      loadDecoder(folder.graphs['decoder_model_merged']!, label('decoder_model_merged'), onnxDir, config, settings),
    ]);
    return new OnnxQwen2VlModel(folder.path, tokenizer, config, preprocessor, vision, embed, decoder, settings.attentionLayers);
  }

  async encodeImage(image: RgbImage, options: { signal?: AbortSignal } = {}): Promise<Qwen2VlEncodedImage> {
    throwIfAborted(options.signal);
    const pixels = preprocessQwen2VlImage(image, this.preprocessor);
    const specs = inputSpecs(this.vision);
    const gridName = specs.has('grid_thw') ? 'grid_thw' : specs.has('image_grid_thw') ? 'image_grid_thw' : undefined;
    if (!specs.has('pixel_values') || !gridName)
      throw new ModelConfigError(`The vision encoder's inputs are ${[...specs.keys()].join(', ')}; expected pixel_values and grid_thw (or image_grid_thw).`);
    const out = await this.vision.run({
      pixel_values: floatTensor(specs.get('pixel_values')!.type, pixels.pixelValues, pixels.dims),
      [gridName]: int64Tensor(pixels.gridThw, [1, 3]),
    });
    const features = readFloat(out[this.vision.outputNames[0]!]!);
    const merge = this.preprocessor.mergeSize;
    const grid = { rows: pixels.gridThw[1] / merge, cols: pixels.gridThw[2] / merge };
    const hidden = this.config.hiddenSize;
    if (features.length !== grid.rows * grid.cols * hidden)
      throw new ModelConfigError(
        `The vision encoder returned ${features.length} values, expected ${grid.rows * grid.cols} merged patches x ${hidden}.`,
        { hint: 'The vision encoder does not match config.json (hidden_size or spatial_merge_size).' },
      );
    return new Qwen2VlEncodedImage(features, hidden, grid, { width: image.width, height: image.height }, pixels.gridThw);
  }

  async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
    const text = 'text' in input ? input.text : this.tokenizer.applyChatTemplate(input.messages);
    const expanded = this.family.expandPrompt(this.tokenizer.encode(text), input.images);
    const { positions, nextPosition } = this.family.promptPositions(expanded.segments);
    return { ...expanded, positions, nextPosition, length: positions.length };
  }

  /** Token embeddings of `ids`, `[ids.length, hidden]` row-major. */
  async embedTokens(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.embed.run({ input_ids: int64Tensor(ids, [1, ids.length]) });
    return readFloat(out[this.embed.outputNames[0]!]!);
  }

  createSession(): DecodingSessionV1 {
    return new OnnxQwen2VlSession(this, this.decoder);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.embed.release(), this.decoder.session.release()]);
  }
}

class OnnxQwen2VlSession implements DecodingSessionV1 {
  private past: Record<string, ort.Tensor> = {};
  private cacheLength = 0;
  private disposed = false;
  private readonly mask = new OnesMask();
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];

  constructor(
    private readonly model: OnnxQwen2VlModel,
    private readonly decoder: DecoderGraph,
  ) {
    for (let i = 0; i < decoder.layers; i++)
      for (const kind of ['key', 'value']) {
        const name = `past_key_values.${i}.${kind}`;
        this.pastNames.push(name);
        this.presentNames.push(`present.${i}.${kind}`);
        this.past[name] = emptyTensor(decoder.pastType, [1, decoder.kvHeads, 0, decoder.headDim]);
      }
  }

  get length(): number {
    return this.cacheLength;
  }

  async step(input: StepInput): Promise<StepOutput> {
    if (this.disposed) throw new IcotError('internal', 'This decoding session was disposed.');
    throwIfAborted(input.signal);
    const { segments, positions } = input;
    const length = segmentLength(segments);
    if (positions.axes !== 3 || positions.length !== length)
      throw new IcotError('internal', `Step has ${length} inputs but ${positions.axes}x${positions.length} positions (expected 3x${length}).`);
    if (input.attention && !this.decoder.tapOutputs)
      throw new AttentionUnavailableError(`Model ${this.model.modelId} cannot provide attention: ${this.decoder.unavailableReason}`);
    const hidden = this.model.config.hiddenSize;
    const ids: number[] = [];
    for (const s of segments) if (s.type === 'tokens') ids.push(...s.ids);
    const tokenEmbeds = ids.length ? await this.model.embedTokens(ids) : undefined;
    const embeds = new Float32Array(length * hidden);
    let row = 0;
    let t = 0;
    for (const s of segments) {
      if (s.type === 'tokens') {
        embeds.set(tokenEmbeds!.subarray(t * hidden, (t + s.ids.length) * hidden), row * hidden);
        t += s.ids.length;
        row += s.ids.length;
      } else {
        const image = s.image;
        if (!(image instanceof Qwen2VlEncodedImage) || image.hidden !== hidden)
          throw new IcotError('internal', 'The image segment was not encoded by this model; use model.encodeImage().');
        const patches = s.patches ?? Array.from({ length: image.patchCount }, (_, i) => i);
        for (const p of patches) embeds.set(image.features.subarray(p * hidden, (p + 1) * hidden), (row++) * hidden);
      }
    }
    const total = this.cacheLength + length;
    const feeds: Record<string, ort.Tensor> = {
      ...this.past,
      inputs_embeds: floatTensor(this.decoder.embedsType, embeds, [1, length, hidden]),
      attention_mask: this.mask.view(total),
      position_ids: int64Tensor(positions.data, [3, 1, length]),
    };
    const out = await this.decoder.session.run(feeds);
    throwIfAborted(input.signal);
    const next: Record<string, ort.Tensor> = {};
    this.pastNames.forEach((name, i) => (next[name] = out[this.presentNames[i]!]!));
    this.past = next;
    this.cacheLength = total;
    const logitsTensor = out['logits']!;
    const vocab = logitsTensor.dims[2]!;
    const all = logitsTensor.type === 'float32' ? (logitsTensor.data as Float32Array) : readFloat(logitsTensor);
    const logits = all.subarray((length - 1) * vocab, length * vocab);
    if (!input.attention) return { logits };
    return { logits, attention: this.readAttention(out, total) };
  }

  private readAttention(out: ort.InferenceSession.OnnxValueMapType, total: number): Float32Array {
    const layers = this.model.attentionLayers;
    const row = new Float32Array(total);
    for (const layer of layers) {
      const values = out[this.decoder.tapOutputs![layer]!]!.data as Float32Array;
      if (values.length !== total)
        throw new AttentionUnavailableError(
          `The attention tap of layer ${layer} gave ${values.length} values for ${total} cached positions: this decoder's Softmax does not work on [batch, heads, query, key] tensors.`,
          { hint: 'This decoder graph shape is not supported for attention; use a selector that needs no attention.' },
        );
      for (let j = 0; j < total; j++) row[j]! += values[j]!;
    }
    const scale = 1 / layers.length;
    for (let j = 0; j < total; j++) row[j]! *= scale;
    return row;
  }

  dispose(): void {
    this.disposed = true;
    this.past = {};
  }
}
