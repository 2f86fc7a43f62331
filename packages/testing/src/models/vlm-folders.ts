import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRandom } from '@icot/core';
import { buildDecoder, decoderWeightBytes, linearLayer, normalWeight, type AttentionKind, type DecoderSpec } from './decoder.js';
import { FLOAT, FLOAT16, GraphBuilder, INT64, type GraphBuilderOptions } from './graph-builder.js';
import { chatMlTemplate, tokenizerFiles } from './tokenizer-files.js';
import { ExternalDataFile, halfActivations, quantizedWeights, WEIGHT_DTYPE_SUFFIX, type WeightDtype } from './weights.js';

/** Common settings of generated vision-language models. */
export interface TinyModelSettings {
  readonly hidden?: number;
  readonly layers?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly intermediate?: number;
  /** Vocabulary of the decoder (at least the tokenizer's size; default tokenizer size + 16). */
  readonly vocab?: number;
  readonly attention?: AttentionKind;
  readonly seed?: number;
  readonly ropeTheta?: number;
  /** Weight scale (default 0.1). */
  readonly init?: number;
  /** Layers whose rotated queries are exposed as `debug.query.{i}` outputs (for attention checks). */
  readonly exposeQueries?: readonly number[];
  /**
   * Weight variant of every graph (default fp32): files get the onnx-community suffix
   * (`decoder_model_merged_q4.onnx`), so `loadOnnxModel(dir, { dtype })` finds them.
   */
  readonly dtype?: WeightDtype;
  /** Give the decoder the `num_logits_to_keep` input some exports have (see {@link DecoderSpec.logitsToKeepInput}). */
  readonly logitsToKeepInput?: boolean;
  /**
   * Store each graph's weights in an external `<file>.onnx_data` file, written as they are
   * generated (default: for graphs whose weights reach {@link EXTERNAL_DATA_AUTO_BYTES}).
   */
  readonly externalData?: boolean;
  /**
   * The context length config.json states: `max_position_embeddings` (in `text_config` where the
   * family nests its text model). Default: the builder's (none for the Qwen2-VL and LLaVA builders,
   * so their models state no limit; 32768 for Qwen2.5-VL, 8192 for SmolVLM, 4096 for Chameleon).
   */
  readonly maxPositionEmbeddings?: number;
}

/** Graph weight size from which generated graphs use external data by default (256 MiB, which keeps writing light; protobuf caps a model at 2 GiB). */
export const EXTERNAL_DATA_AUTO_BYTES = 256 * 2 ** 20;

/** A graph to write: builds its ModelProto (weights into `options.externalData` when given). */
export interface GraphWriter {
  readonly estimatedBytes: number;
  build(options: GraphBuilderOptions): Uint8Array;
}

/**
 * Write a graph to `path`: with its weights in `path + '_data'` (streamed as they are generated)
 * when `external`, else in the model file. Returns the files written.
 */
async function writeGraph(path: string, graph: GraphWriter, external: boolean | undefined): Promise<string[]> {
  if (!(external ?? graph.estimatedBytes >= EXTERNAL_DATA_AUTO_BYTES)) {
    await writeFile(path, graph.build({}));
    return [path];
  }
  const data = new ExternalDataFile(`${path}_data`);
  let bytes: Uint8Array;
  try {
    bytes = graph.build({ externalData: data });
  } finally {
    data.close();
  }
  await writeFile(path, bytes);
  return [path, data.path];
}

/**
 * Write a generated decoder graph (see {@link buildDecoder}) to `path`, its weights streamed into
 * `path + '_data'` when `externalData` is true (default: when they reach {@link EXTERNAL_DATA_AUTO_BYTES}).
 * Returns the files written.
 */
export async function writeDecoder(path: string, spec: DecoderSpec, options: { readonly externalData?: boolean } = {}): Promise<string[]> {
  return writeGraph(path, { estimatedBytes: decoderWeightBytes(spec), build: (o) => buildDecoder(spec, o) }, options.externalData);
}

/** What was generated. */
export interface TinyModelInfo {
  readonly dir: string;
  readonly specialIds: Readonly<Record<string, number>>;
  readonly decoder: DecoderSpec;
  /** A chat-formatted prompt with one image placeholder. */
  readonly promptText: string;
  /** The weight variant written. */
  readonly dtype: WeightDtype;
}

/** Special tokens of the generated Qwen2-VL-style tokenizers. */
export const QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>'];
/** The question of the generated models' example prompts. */
export const QUESTION = 'Which shape is in the top left corner of the image?\nLet us think step by step.\n';

/** M-RoPE sections (t, h, w) of a generated Qwen-style decoder with `headDim`-wide heads (Qwen's 16/24/24 proportions). */
export function qwenMropeSection(headDim: number): [number, number, number] {
  const q = headDim / 2;
  return [q - 2 * Math.floor((q * 3) / 8), Math.floor((q * 3) / 8), Math.floor((q * 3) / 8)];
}

/** The decoder of a generated model from its settings (`mropeSection` for M-RoPE, else 1-D RoPE). */
export function decoderSpec(settings: TinyModelSettings, vocab: number, mropeSection: DecoderSpec['mropeSection']): DecoderSpec {
  const heads = settings.heads ?? 4;
  return {
    hidden: settings.hidden ?? 64,
    layers: settings.layers ?? 2,
    heads,
    kvHeads: settings.kvHeads ?? (settings.attention === 'multi-head-attention' ? heads : Math.max(1, heads / 2)),
    intermediate: settings.intermediate ?? 2 * (settings.hidden ?? 64),
    vocab,
    ropeTheta: settings.ropeTheta ?? 10000,
    ...(mropeSection ? { mropeSection } : {}),
    attention: settings.attention ?? 'softmax',
    seed: settings.seed ?? 1,
    init: settings.init ?? 0.1,
    ...(settings.exposeQueries ? { exposeQueries: settings.exposeQueries } : {}),
    ...(settings.dtype && settings.dtype !== 'fp32' ? { dtype: settings.dtype } : {}),
    ...(settings.logitsToKeepInput ? { logitsToKeepInput: true } : {}),
  };
}

/** Token embeddings: a float32 table (float16 for half-precision variants; 4-bit exports keep Gather tables unquantized). */
export function embedTokensGraph(vocab: number, hidden: number, seed: number, dtype: WeightDtype): GraphWriter {
  const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
  return {
    estimatedBytes: vocab * hidden * (act === FLOAT16 ? 2 : 4),
    build: (options) => {
      const g = new GraphBuilder('', options);
      const ids = g.input('input_ids', INT64, ['batch_size', 'sequence_length']);
      const table = normalWeight(g, 'embed_tokens.weight', [vocab, hidden], createRandom(seed), 1, act);
      g.output(g.op('Gather', [table, ids]), 'inputs_embeds', act, ['batch_size', 'sequence_length', hidden]);
      return g.build();
    },
  };
}

/**
 * Write the graphs, then the JSON and tokenizer files. Graphs stored with external data are listed
 * in config.json's `transformers.js_config.use_external_data_format` (one `.onnx_data` file each),
 * which transformers.js reads to load them, as onnx-community configs do.
 */
export async function writeFolder(dir: string, files: Record<string, unknown>, graphs: Record<string, GraphWriter>, settings: TinyModelSettings): Promise<void> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const suffix = WEIGHT_DTYPE_SUFFIX[settings.dtype ?? 'fp32'];
  const external: Record<string, number> = {};
  for (const [name, graph] of Object.entries(graphs)) {
    const file = `${name}${suffix}.onnx`;
    if ((await writeGraph(join(dir, 'onnx', file), graph, settings.externalData)).length > 1) external[file] = 1;
  }
  const config = files['config.json'] as Record<string, unknown>;
  if (Object.keys(external).length) files = { ...files, 'config.json': { ...config, 'transformers.js_config': { use_external_data_format: external } } };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 1));
}

/** A generated decoder as a graph to write. */
export function decoderGraph(spec: DecoderSpec): GraphWriter {
  return { estimatedBytes: decoderWeightBytes(spec), build: (options) => buildDecoder(spec, options) };
}

/**
 * Write a tiny random-weight Qwen2-VL-style model folder (onnx-community layout): M-RoPE decoder
 * (plain, GroupQueryAttention or MultiHeadAttention attention), a vision encoder that maps each
 * 2x2 block of 14px patches to one feature, the embedding graph, configs and a tokenizer.
 */
export async function writeTinyQwen2Vl(dir: string, settings: TinyModelSettings & { readonly maxPixels?: number } = {}): Promise<TinyModelInfo> {
  const tok = tokenizerFiles(QWEN_SPECIALS, { chatTemplate: chatMlTemplate('<|vision_start|><|image_pad|><|vision_end|>'), eosToken: '<|im_end|>', padToken: '<|endoftext|>' });
  const vocab = settings.vocab ?? tok.regularSize + QWEN_SPECIALS.length + 16;
  const hidden = settings.hidden ?? 64;
  const mrope = qwenMropeSection(hidden / (settings.heads ?? 4));
  const spec = decoderSpec(settings, vocab, mrope);
  const seed = spec.seed;
  const ids = tok.specialIds;
  const dtype = settings.dtype ?? 'fp32';
  // vision: [N, 1176] -> [N/4, 4704] -> tanh(x W1) W2 -> [N/4, hidden]
  const vision: GraphWriter = {
    estimatedBytes: (4 * 1176 + hidden) * hidden * 4,
    build: (options) => {
      const vg = new GraphBuilder('', options);
      const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
      const pixels = vg.input('pixel_values', act, ['num_patches', 1176]);
      vg.input('grid_thw', INT64, ['num_images', 3]);
      const vr = createRandom(seed + 101);
      const merged = vg.op('Reshape', [pixels, vg.int64([-1, 4 * 1176])]);
      const h1 = vg.op('Tanh', [linearLayer(vg, merged, 'visual.proj', 4 * 1176, hidden, vr, 0.02, dtype)]);
      vg.output(linearLayer(vg, h1, 'visual.merger', hidden, hidden, vr, 1, dtype), 'image_features', act, ['num_image_tokens', hidden]);
      return vg.build(quantizedWeights(dtype) ? new Map([['', 17], ['com.microsoft', 1]]) : undefined);
    },
  };
  await writeFolder(
    dir,
    {
      'config.json': {
        architectures: ['Qwen2VLForConditionalGeneration'],
        model_type: 'qwen2_vl',
        hidden_size: hidden,
        intermediate_size: spec.intermediate,
        num_hidden_layers: spec.layers,
        num_attention_heads: spec.heads,
        num_key_value_heads: spec.kvHeads,
        rms_norm_eps: 1e-6,
        rope_theta: spec.ropeTheta,
        vocab_size: vocab,
        ...(settings.maxPositionEmbeddings !== undefined ? { max_position_embeddings: settings.maxPositionEmbeddings } : {}),
        bos_token_id: ids['<|endoftext|>'],
        eos_token_id: ids['<|im_end|>'],
        vision_start_token_id: ids['<|vision_start|>'],
        vision_end_token_id: ids['<|vision_end|>'],
        vision_token_id: ids['<|vision_pad|>'],
        image_token_id: ids['<|image_pad|>'],
        video_token_id: ids['<|video_pad|>'],
        rope_scaling: { type: 'mrope', mrope_section: mrope },
        vision_config: { hidden_size: hidden, patch_size: 14, spatial_merge_size: 2, temporal_patch_size: 2 },
        icot_generated: { by: '@icot/testing', attention: spec.attention, seed, dtype },
      },
      'generation_config.json': { eos_token_id: [ids['<|im_end|>'], ids['<|endoftext|>']], do_sample: false },
      'preprocessor_config.json': {
        min_pixels: 56 * 56,
        max_pixels: settings.maxPixels ?? 224 * 224,
        patch_size: 14,
        temporal_patch_size: 2,
        merge_size: 2,
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
        do_resize: true,
        do_rescale: true,
        do_normalize: true,
        resample: 3,
        rescale_factor: 1 / 255,
        image_processor_type: 'Qwen2VLImageProcessor',
        processor_class: 'Qwen2VLProcessor',
      },
      'tokenizer.json': tok.tokenizerJson,
      'tokenizer_config.json': tok.tokenizerConfig,
    },
    { vision_encoder: vision, embed_tokens: embedTokensGraph(vocab, hidden, seed + 7, dtype), decoder_model_merged: decoderGraph(spec) },
    settings,
  );
  return {
    dir,
    specialIds: ids,
    decoder: spec,
    promptText: `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>${QUESTION}<|im_end|>\n<|im_start|>assistant\n`,
    dtype,
  };
}

/**
 * Write a tiny random-weight LLaVA-style model folder: CLIP-style preprocessing (shortest edge +
 * center crop), a vision encoder that turns a `grid x grid` patch grid into features (patchify
 * convolution + projection), an `<image>` token that expands to those features, and a decoder with
 * 1-D positions ([B,S]) and grouped-query heads.
 */
export async function writeTinyLlava(dir: string, settings: TinyModelSettings & { readonly imageSize?: number; readonly patchSize?: number } = {}): Promise<TinyModelInfo> {
  const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<image>'];
  const tok = tokenizerFiles(specials, { chatTemplate: chatMlTemplate('<image>\n'), eosToken: '<|im_end|>', padToken: '<|endoftext|>' });
  const vocab = settings.vocab ?? tok.regularSize + specials.length + 16;
  const spec = decoderSpec({ attention: 'group-query-attention', ...settings }, vocab, undefined);
  const hidden = spec.hidden;
  const imageSize = settings.imageSize ?? 96;
  const patch = settings.patchSize ?? 16;
  const grid = imageSize / patch;
  if (!Number.isInteger(grid)) throw new Error('writeTinyLlava: imageSize must be a multiple of patchSize');
  const dtype = settings.dtype ?? 'fp32';
  const vision: GraphWriter = {
    estimatedBytes: (3 * patch * patch + hidden) * hidden * 4,
    build: (options) => {
      const vr = createRandom(spec.seed + 202);
      const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
      const vg = new GraphBuilder('', options);
      const pixels = vg.input('pixel_values', act, ['batch_size', 3, imageSize, imageSize]);
      const conv = vg.op('Conv', [pixels, normalWeight(vg, 'vision.patch_embed', [hidden, 3, patch, patch], vr, 0.05, act)], [
        { name: 'kernel_shape', ints: [patch, patch] },
        { name: 'strides', ints: [patch, patch] },
      ]); // [B, hidden, g, g]
      const tokens = vg.op('Transpose', [vg.op('Reshape', [conv, vg.int64([0, hidden, grid * grid])])], [{ name: 'perm', ints: [0, 2, 1] }]);
      const projected = linearLayer(vg, vg.op('Tanh', [tokens]), 'projector', hidden, hidden, vr, 1, dtype);
      vg.output(projected, 'image_features', act, ['batch_size', grid * grid, hidden]);
      return vg.build(quantizedWeights(dtype) ? new Map([['', 17], ['com.microsoft', 1]]) : undefined);
    },
  };
  const ids = tok.specialIds;
  await writeFolder(
    dir,
    {
      'config.json': {
        architectures: ['LlavaForConditionalGeneration'],
        model_type: 'llava',
        image_token_index: ids['<image>'],
        image_seq_length: grid * grid,
        text_config: {
          model_type: 'qwen2',
          hidden_size: hidden,
          intermediate_size: spec.intermediate,
          num_hidden_layers: spec.layers,
          num_attention_heads: spec.heads,
          num_key_value_heads: spec.kvHeads,
          rope_theta: spec.ropeTheta,
          vocab_size: vocab,
          ...(settings.maxPositionEmbeddings !== undefined ? { max_position_embeddings: settings.maxPositionEmbeddings } : {}),
          eos_token_id: ids['<|im_end|>'],
        },
        vision_config: { model_type: 'siglip_vision_model', image_size: imageSize, patch_size: patch, hidden_size: hidden },
        icot_generated: { by: '@icot/testing', attention: spec.attention, seed: spec.seed, dtype },
      },
      'generation_config.json': { eos_token_id: [ids['<|im_end|>']], do_sample: false },
      'preprocessor_config.json': {
        size: { shortest_edge: imageSize },
        crop_size: { height: imageSize, width: imageSize },
        do_resize: true,
        do_center_crop: true,
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        resample: 3,
        image_processor_type: 'CLIPImageProcessor',
        processor_class: 'LlavaProcessor',
      },
      'processor_config.json': { processor_class: 'LlavaProcessor', image_token: '<image>', patch_size: patch, num_additional_image_tokens: 0, vision_feature_select_strategy: 'full' },
      'tokenizer.json': tok.tokenizerJson,
      'tokenizer_config.json': tok.tokenizerConfig,
    },
    { vision_encoder: vision, embed_tokens: embedTokensGraph(vocab, hidden, spec.seed + 7, dtype), decoder_model_merged: decoderGraph(spec) },
    settings,
  );
  return {
    dir,
    specialIds: ids,
    decoder: spec,
    promptText: `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<image>\n${QUESTION}<|im_end|>\n<|im_start|>assistant\n`,
    dtype,
  };
}

/** A tiny model configuration that exercises one decoder attention shape (and weight variant: `settings.dtype`). */
export interface TinyModelVariant {
  readonly name: string;
  /** The attention shape the backend's tap should find. */
  readonly shape: 'softmax' | 'group-query-attention' | 'multi-head-attention';
  readonly write: (dir: string, settings: TinyModelSettings) => Promise<TinyModelInfo>;
  readonly settings: TinyModelSettings;
}

/** Every decoder attention shape the tap reads: (a)-(c) Qwen2-VL-style, (d) LLaVA-style. */
export const TINY_MODEL_VARIANTS: readonly TinyModelVariant[] = [
  { name: '(a) Qwen2-VL-style, plain Softmax attention', shape: 'softmax', write: writeTinyQwen2Vl, settings: { attention: 'softmax', layers: 3, heads: 4, kvHeads: 2, seed: 11 } },
  { name: '(b) Qwen2-VL-style, GroupQueryAttention', shape: 'group-query-attention', write: writeTinyQwen2Vl, settings: { attention: 'group-query-attention', layers: 3, heads: 4, kvHeads: 2, seed: 12 } },
  { name: '(c) Qwen2-VL-style, MultiHeadAttention', shape: 'multi-head-attention', write: writeTinyQwen2Vl, settings: { attention: 'multi-head-attention', layers: 2, heads: 4, kvHeads: 4, seed: 13 } },
  { name: '(d) LLaVA-style, 1-D positions, GroupQueryAttention', shape: 'group-query-attention', write: writeTinyLlava, settings: { attention: 'group-query-attention', layers: 2, heads: 8, kvHeads: 2, hidden: 128, seed: 14 } },
];

/**
 * The weight variants fp16, q4 (MatMulNBits) and q4f16 of every shape (a)-(d), whose folders hold
 * `onnx/<graph>_<dtype>.onnx`: every combination loads, taps and decodes on onnxruntime-node 1.30's
 * CPU provider.
 */
export const TINY_DTYPE_VARIANTS: readonly TinyModelVariant[] = (['fp16', 'q4', 'q4f16'] as const).flatMap((dtype) =>
  TINY_MODEL_VARIANTS.map((v) => ({ ...v, name: `${v.name}, ${dtype}`, settings: { ...v.settings, dtype } })),
);
