import { createRandom } from '@icot/core';
import { linearLayer, normalWeight } from './decoder.js';
import { OnnxDataType } from '@icot/onnx-proto';
import { FLOAT, FLOAT16, GraphBuilder } from './graph-builder.js';
import { tokenizerFiles } from './tokenizer-files.js';
import { decoderGraph, decoderSpec, embedTokensGraph, QUESTION, writeFolder, type GraphWriter, type TinyModelInfo, type TinyModelSettings } from './vlm-folders.js';
import { halfActivations, quantizedWeights, type WeightDtype } from './weights.js';

/** Settings of {@link writeTinySmolVlm}. */
export interface TinySmolVlmSettings extends TinyModelSettings {
  /** `max_image_size.longest_edge` = `vision_config.image_size`: the tile side in pixels (default 64). */
  readonly tileSize?: number;
  /** `size.longest_edge` of the first resize (default 128, so a 640x480 image becomes 2x2 tiles + global). */
  readonly longestEdge?: number;
  /** Vision patch side (default 8). */
  readonly patchSize?: number;
  /** Pixel-shuffle factor `scale_factor` (default 2: 16 tokens per 64 px tile). */
  readonly scaleFactor?: number;
  /** `model_type` (default `idefics3`, as HuggingFaceTB/SmolVLM-256M-Instruct; SmolVLM2 checkpoints say `smolvlm`). */
  readonly modelType?: 'idefics3' | 'smolvlm';
}

const BOOL = OnnxDataType.BOOL;

/** Row/column separator tokens of the tokenizer: `<row_r_col_c>` for r, c in 1..6, as SmolVLM's tokenizer has. */
const ROW_COL_TOKENS = Array.from({ length: 36 }, (_, i) => `<row_${Math.floor(i / 6) + 1}_col_${(i % 6) + 1}>`);
const SMOLVLM_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<fake_token_around_image>', '<image>', '<global-img>', '<end_of_utterance>', ...ROW_COL_TOKENS];

/**
 * SmolVLM's chat template: transformers' `processing_smolvlm.DEFAULT_CHAT_TEMPLATE` (the template
 * the SmolVLM checkpoints ship): `<|im_start|>User:<image>question<end_of_utterance>\nAssistant:`.
 */
export const SMOLVLM_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
  "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}{% endfor %}" +
  "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

/**
 * The vision encoder of the tiny SmolVLM, with the onnx-community IO: `pixel_values`
 * [batch, images, 3, S, S] and `pixel_attention_mask` [batch, images, S, S] (bool) ->
 * `image_features` [real images, (S / patch / scale)^2, hidden]. Patches are embedded by a
 * stride-`patch` convolution (padded patches zeroed through the mask), the connector's pixel
 * shuffle groups `scale x scale` patches into one token in raster order (feature order
 * row-in-block, column-in-block, channel, as transformers' `Idefics3Connector.pixel_shuffle`), a
 * projection gives the text width, and frames whose mask is all false (padding images) are
 * dropped, as the model drops them. Each token depends only on its own pixels.
 */
function visionGraph(tile: number, patch: number, scale: number, visionHidden: number, hidden: number, seed: number, dtype: WeightDtype): GraphWriter {
  const grid = tile / patch;
  const side = grid / scale;
  return {
    estimatedBytes: (3 * patch * patch + scale * scale * hidden) * visionHidden * 4,
    build: (options) => {
      const g = new GraphBuilder('', options);
      const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
      const random = createRandom(seed);
      const pixels = g.input('pixel_values', act, ['batch_size', 'num_images', 3, tile, tile]);
      const mask = g.input('pixel_attention_mask', BOOL, ['batch_size', 'num_images', tile, tile]);
      const frames = g.op('Reshape', [pixels, g.int64([-1, 3, tile, tile])]);
      const valid = g.op('Cast', [g.op('Reshape', [mask, g.int64([-1, 1, tile, tile])])], [{ name: 'to', int: FLOAT }]);
      const patchValid = g.op('MaxPool', [valid], [{ name: 'kernel_shape', ints: [patch, patch] }, { name: 'strides', ints: [patch, patch] }]); // [F, 1, g, g]
      const conv = g.op('Conv', [frames, normalWeight(g, 'vision.patch_embedding', [visionHidden, 3, patch, patch], random, 0.05, act)], [
        { name: 'kernel_shape', ints: [patch, patch] },
        { name: 'strides', ints: [patch, patch] },
      ]); // [F, D, g, g]
      const embedded = g.op('Mul', [conv, act === FLOAT ? patchValid : g.op('Cast', [patchValid], [{ name: 'to', int: act }])]);
      const channelsLast = g.op('Transpose', [embedded], [{ name: 'perm', ints: [0, 2, 3, 1] }]); // [F, g, g, D]
      const blocks = g.op('Reshape', [channelsLast, g.int64([-1, side, scale, side, scale, visionHidden])]);
      const shuffled = g.op('Reshape', [g.op('Transpose', [blocks], [{ name: 'perm', ints: [0, 1, 3, 2, 4, 5] }]), g.int64([-1, side * side, scale * scale * visionHidden])]);
      const projected = linearLayer(g, g.op('Tanh', [shuffled]), 'connector.modality_projection', scale * scale * visionHidden, hidden, random, 1 / Math.sqrt(scale * scale), dtype);
      const real = g.op('Greater', [g.op('ReduceMax', [valid], [{ name: 'axes', ints: [1, 2, 3] }, { name: 'keepdims', int: 0 }]), g.float([0])]);
      g.output(g.op('Compress', [projected, real], [{ name: 'axis', int: 0 }]), 'image_features', act, ['num_real_images', side * side, hidden]);
      return g.build(quantizedWeights(dtype) ? new Map([['', 17], ['com.microsoft', 1]]) : undefined);
    },
  };
}

/**
 * Write a tiny random-weight SmolVLM (Idefics3) model folder in the onnx-community layout: the
 * vision encoder above (`pixel_values` + `pixel_attention_mask` -> `image_features`, pixel shuffle
 * to `image_seq_len` tokens per tile), `embed_tokens`, a Llama-style decoder (1-D RoPE,
 * `position_ids` [B,S], grouped-query heads), a byte-level BPE tokenizer with the Idefics3 tokens
 * (`<fake_token_around_image>`, `<image>`, `<global-img>`, `<row_r_col_c>` up to 6 x 6,
 * `<end_of_utterance>`) and SmolVLM's chat template, an Idefics3ImageProcessor
 * `preprocessor_config.json` (LANCZOS; tiles of `tileSize`, first resize to `longestEdge`),
 * `processor_config.json` (`image_seq_len`) and a config.json with SmolVLM's fields
 * (`image_token_id`, `scale_factor`, `text_config` (llama), `vision_config`).
 */
export async function writeTinySmolVlm(dir: string, settings: TinySmolVlmSettings = {}): Promise<TinyModelInfo> {
  const tok = tokenizerFiles(SMOLVLM_SPECIALS, { chatTemplate: SMOLVLM_CHAT_TEMPLATE, eosToken: '<end_of_utterance>', padToken: '<|im_end|>', bosToken: '<|im_start|>' });
  const vocab = settings.vocab ?? tok.regularSize + SMOLVLM_SPECIALS.length + 16;
  const spec = decoderSpec({ attention: 'group-query-attention', ...settings }, vocab, undefined);
  const hidden = spec.hidden;
  const tile = settings.tileSize ?? 64;
  const patch = settings.patchSize ?? 8;
  const scale = settings.scaleFactor ?? 2;
  const longestEdge = settings.longestEdge ?? 2 * tile;
  const side = tile / patch / scale;
  if (!Number.isInteger(side) || side < 1) throw new Error('writeTinySmolVlm: tileSize must be a multiple of patchSize x scaleFactor');
  const modelType = settings.modelType ?? 'idefics3';
  const visionHidden = 32;
  const dtype = settings.dtype ?? 'fp32';
  const ids = tok.specialIds;
  const processorClass = modelType === 'smolvlm' ? 'SmolVLMProcessor' : 'Idefics3Processor';
  await writeFolder(
    dir,
    {
      'config.json': {
        architectures: [modelType === 'smolvlm' ? 'SmolVLMForConditionalGeneration' : 'Idefics3ForConditionalGeneration'],
        model_type: modelType,
        image_token_id: ids['<image>'],
        scale_factor: scale,
        pad_token_id: ids['<|im_end|>'],
        tie_word_embeddings: false,
        vocab_size: vocab,
        text_config: {
          model_type: 'llama',
          architectures: ['LlamaForCausalLM'],
          hidden_size: hidden,
          intermediate_size: spec.intermediate,
          num_hidden_layers: spec.layers,
          num_attention_heads: spec.heads,
          num_key_value_heads: spec.kvHeads,
          head_dim: hidden / spec.heads,
          hidden_act: 'silu',
          rms_norm_eps: 1e-5,
          rope_theta: spec.ropeTheta,
          max_position_embeddings: settings.maxPositionEmbeddings ?? 8192,
          vocab_size: vocab,
          bos_token_id: ids['<|im_start|>'],
          eos_token_id: ids['<end_of_utterance>'],
          pad_token_id: ids['<|im_end|>'],
          tie_word_embeddings: false,
        },
        vision_config: {
          model_type: 'idefics3_vision',
          hidden_size: visionHidden,
          intermediate_size: 2 * visionHidden,
          num_hidden_layers: 1,
          num_attention_heads: 1,
          num_channels: 3,
          image_size: tile,
          patch_size: patch,
          layer_norm_eps: 1e-6,
        },
        icot_generated: { by: '@icot/testing', attention: spec.attention, seed: spec.seed, dtype },
      },
      'generation_config.json': { bos_token_id: ids['<|im_start|>'], eos_token_id: [ids['<end_of_utterance>']], pad_token_id: ids['<|im_end|>'], do_sample: false },
      'preprocessor_config.json': {
        do_convert_rgb: true,
        do_image_splitting: true,
        do_normalize: true,
        do_pad: true,
        do_rescale: true,
        do_resize: true,
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
        max_image_size: { longest_edge: tile },
        size: { longest_edge: longestEdge },
        resample: 1,
        rescale_factor: 1 / 255,
        image_processor_type: modelType === 'smolvlm' ? 'SmolVLMImageProcessor' : 'Idefics3ImageProcessor',
        processor_class: processorClass,
      },
      'processor_config.json': { image_seq_len: side * side, processor_class: processorClass },
      'tokenizer.json': tok.tokenizerJson,
      'tokenizer_config.json': tok.tokenizerConfig,
    },
    {
      vision_encoder: visionGraph(tile, patch, scale, visionHidden, hidden, spec.seed + 404, dtype),
      embed_tokens: embedTokensGraph(vocab, hidden, spec.seed + 7, dtype),
      decoder_model_merged: decoderGraph(spec),
    },
    settings,
  );
  return {
    dir,
    specialIds: ids,
    decoder: spec,
    promptText: `<|im_start|>User:<image>${QUESTION}<end_of_utterance>\nAssistant:`,
    dtype,
  };
}
