import { createRandom } from '@icot/core';
import { normalWeight } from './decoder.js';
import { FLOAT, FLOAT16, GraphBuilder, INT64 } from './graph-builder.js';
import { tokenizerFiles } from './tokenizer-files.js';
import { decoderGraph, decoderSpec, QUESTION, writeFolder, type GraphWriter, type TinyModelInfo, type TinyModelSettings } from './vlm-folders.js';
import { halfActivations, type WeightDtype } from './weights.js';

/** Settings of {@link writeTinyChameleon}. */
export interface TinyChameleonSettings extends TinyModelSettings {
  /** Side of the square crop the image tokenizer reads (`crop_size`, `vq_config.resolution`; default 128). */
  readonly imageSize?: number;
  /** Pixels per VQ token side, a power of two (default 8: a 16 x 16 token grid at 128 px). */
  readonly patchSize?: number;
  /** VQ codebook size `vq_config.num_embeddings` (default 64): one `IMGIMG...Z` token per code. */
  readonly codes?: number;
  /** VQ code width `vq_config.embed_dim` (default 16). */
  readonly embedDim?: number;
}

/** What {@link writeTinyChameleon} generated. */
export interface TinyChameleonInfo extends TinyModelInfo {
  /** Token id of each VQ code (index = code), the `IMGIMG...Z` entries of `vocabulary_map`. */
  readonly imageTokenIds: readonly number[];
  /** Side of the image token grid (image tokens per image: its square). */
  readonly grid: number;
}

/** Chameleon's special tokens, in the fixture's order (`<reserved08706>` is the separator Chameleon's chat mode appends). */
const CHAMELEON_SPECIALS = ['<s>', '<pad>', '</s>', '<image>', '<racm3:break>', '<eoss>', '<reserved08706>'];

/**
 * Name of the token of VQ code `code` in Chameleon's vocabulary: `IMGIMG`, the code's decimal
 * digits written as letters (0 -> A ... 9 -> J), `Z` (code 0: `IMGIMGAZ`, code 10: `IMGIMGBAZ`), as
 * transformers' `ChameleonImageVocabularyMapping` reads them back.
 */
export function chameleonImageTokenName(code: number): string {
  return `IMGIMG${Array.from(String(code), (d) => String.fromCharCode(65 + Number(d))).join('')}Z`;
}

/**
 * The image tokenizer: `pixel_values` [B,3,S,S] -> `image_tokens` [B,(S/p)^2] int64, the BPE ids of
 * the VQ codes in raster order. A stride-p convolution embeds each p x p patch (a stand-in for the
 * VQ-VAE encoder), the nearest codebook entry (squared distance, first index on ties: ArgMin) gives
 * its code, and a Gather maps codes to token ids (transformers' `convert_img2bpe`).
 */
function imageTokenizerGraph(imageSize: number, patch: number, embedDim: number, codeIds: readonly number[], seed: number, dtype: WeightDtype): GraphWriter {
  const grid = imageSize / patch;
  return {
    estimatedBytes: (3 * patch * patch + codeIds.length) * embedDim * 4,
    build: (options) => {
      const g = new GraphBuilder('', options);
      const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
      const toFloat = (x: string): string => (act === FLOAT ? x : g.op('Cast', [x], [{ name: 'to', int: FLOAT }]));
      const random = createRandom(seed);
      const pixels = g.input('pixel_values', act, ['batch_size', 3, imageSize, imageSize]);
      const conv = g.op('Conv', [pixels, normalWeight(g, 'vqmodel.encoder.patch_embed', [embedDim, 3, patch, patch], random, 1 / Math.sqrt(3 * patch * patch), act)], [
        { name: 'kernel_shape', ints: [patch, patch] },
        { name: 'strides', ints: [patch, patch] },
      ]); // [B, E, g, g]
      const latents = toFloat(g.op('Transpose', [g.op('Reshape', [conv, g.int64([0, embedDim, grid * grid])])], [{ name: 'perm', ints: [0, 2, 1] }])); // [B, n, E]
      const codebook = toFloat(normalWeight(g, 'vqmodel.quantize.embedding', [codeIds.length, embedDim], random, 0.5, act)); // [codes, E]
      const squaredNorms = g.op('ReduceSum', [g.op('Mul', [codebook, codebook]), g.int64([1])], [{ name: 'keepdims', int: 0 }]); // [codes]
      const dots = g.op('MatMul', [latents, g.op('Transpose', [codebook], [{ name: 'perm', ints: [1, 0] }])]); // [B, n, codes]
      const distances = g.op('Sub', [squaredNorms, g.op('Mul', [dots, g.float([2])])]); // |x - c|^2 - |x|^2
      const codes = g.op('ArgMin', [distances], [
        { name: 'axis', int: -1 },
        { name: 'keepdims', int: 0 },
      ]); // [B, n] int64
      g.output(g.op('Gather', [g.int64(codeIds), codes]), 'image_tokens', INT64, ['batch_size', grid * grid]);
      return g.build();
    },
  };
}

/**
 * Write a tiny random-weight Chameleon-class model folder in the layout of the `tiny-chameleon`
 * fixture (which `loadOnnxModel` reads for config `model_type: chameleon`):
 * `onnx/image_tokenizer.onnx` (`pixel_values` [B,3,S,S] -> `image_tokens` [B,(S/p)^2] BPE ids of
 * VQ codes, raster order), `onnx/decoder_model_merged.onnx` over `input_ids` (embedding table in
 * the graph, 1-D RoPE, q/k LayerNorm, plain Softmax attention unless `attention` says otherwise,
 * as many KV heads as heads unless `kvHeads` says otherwise), a byte-level BPE tokenizer with
 * `<s> <pad> </s> <image> <racm3:break> <eoss>` and one `IMGIMG...Z` token per VQ code, config.json
 * with `vocabulary_map`, `vq_config` and the image / boi / eoi token ids, ChameleonImageProcessor
 * settings (shortest edge, center crop, pixel * 0.0078 - 1) and generation_config.json. Like
 * Chameleon it has no chat template: a prompt is `<image>` followed by the question.
 */
export async function writeTinyChameleon(dir: string, settings: TinyChameleonSettings = {}): Promise<TinyChameleonInfo> {
  const imageSize = settings.imageSize ?? 128;
  const patch = settings.patchSize ?? 8;
  const codes = settings.codes ?? 64;
  const embedDim = settings.embedDim ?? 16;
  const grid = imageSize / patch;
  if (!Number.isInteger(grid) || !Number.isInteger(Math.log2(patch)))
    throw new Error('writeTinyChameleon: patchSize must be a power of two and imageSize a multiple of it');
  const dtype = settings.dtype ?? 'fp32';
  const tok = tokenizerFiles(CHAMELEON_SPECIALS, { chatTemplate: '', eosToken: '</s>', padToken: '<pad>', bosToken: '<s>' });
  const ids = tok.specialIds;
  const firstImageToken = tok.regularSize + CHAMELEON_SPECIALS.length;
  const imageTokenIds = Array.from({ length: codes }, (_, code) => firstImageToken + code);
  const imageTokens = imageTokenIds.map((id, code) => ({ id, content: chameleonImageTokenName(code), single_word: false, lstrip: false, rstrip: false, normalized: true, special: false }));
  const tokenizerJson = { ...tok.tokenizerJson, added_tokens: [...(tok.tokenizerJson['added_tokens'] as object[]), ...imageTokens] };
  const vocabularyMap: Record<string, number> = { ...((tok.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab) };
  for (const [name, id] of Object.entries(ids)) vocabularyMap[name] = id;
  for (const t of imageTokens) vocabularyMap[t.content] = t.id;
  const tokenCount = firstImageToken + codes;
  const vocab = settings.vocab ?? tokenCount;
  if (vocab < tokenCount) throw new Error(`writeTinyChameleon: vocab must hold the ${tokenCount} tokens`);
  const heads = settings.heads ?? 4;
  const spec = {
    ...decoderSpec({ ...settings, heads, kvHeads: settings.kvHeads ?? heads }, vocab, undefined),
    rmsEps: 1e-5,
    inputIds: true,
    qkNorm: true,
  };
  const { bos_token: _bos, eos_token: _eos, pad_token: _pad, chat_template: _template, tokenizer_class: _class, ...rest } = tok.tokenizerConfig;
  await writeFolder(
    dir,
    {
      'config.json': {
        architectures: ['ChameleonForConditionalGeneration'],
        model_type: 'chameleon',
        vocab_size: vocab,
        hidden_size: spec.hidden,
        intermediate_size: spec.intermediate,
        num_hidden_layers: spec.layers,
        num_attention_heads: spec.heads,
        num_key_value_heads: spec.kvHeads,
        hidden_act: 'silu',
        max_position_embeddings: settings.maxPositionEmbeddings ?? 4096,
        initializer_range: spec.init,
        rms_norm_eps: spec.rmsEps,
        use_cache: true,
        pad_token_id: ids['<pad>'],
        bos_token_id: ids['<s>'],
        eos_token_id: ids['</s>'],
        rope_theta: spec.ropeTheta,
        attention_bias: false,
        attention_dropout: 0,
        model_parallel_size: 1,
        swin_norm: false,
        tie_word_embeddings: false,
        mlp_bias: false,
        vq_config: {
          embed_dim: embedDim,
          num_embeddings: codes,
          double_latent: false,
          latent_channels: embedDim,
          resolution: imageSize,
          in_channels: 3,
          base_channels: 32,
          // one entry per resolution level: the encoder halves the resolution log2(patch) times
          channel_multiplier: Array.from({ length: Math.log2(patch) + 1 }, (_, i) => (i < 2 ? 1 : 2)),
          num_res_blocks: 1,
          attn_resolutions: null,
          dropout: 0,
          attn_type: 'vanilla',
          initializer_range: 0.02,
        },
        vocabulary_map: vocabularyMap,
        image_token_id: ids['<image>'],
        boi_token_id: ids['<racm3:break>'],
        eoi_token_id: ids['<eoss>'],
        icot_generated: { by: '@icot/testing', attention: spec.attention, seed: spec.seed, dtype },
      },
      'generation_config.json': { bos_token_id: ids['<s>'], eos_token_id: ids['</s>'], pad_token_id: ids['<pad>'] },
      'preprocessor_config.json': {
        size: { shortest_edge: imageSize },
        crop_size: { height: imageSize, width: imageSize },
        do_resize: true,
        do_center_crop: true,
        do_rescale: true,
        rescale_factor: 0.0078,
        do_normalize: true,
        image_mean: [1, 1, 1],
        image_std: [1, 1, 1],
        resample: 1,
        do_convert_rgb: true,
        image_processor_type: 'ChameleonImageProcessor',
        processor_class: 'ChameleonProcessor',
        image_seq_length: grid * grid,
      },
      'tokenizer.json': tokenizerJson,
      'tokenizer_config.json': {
        tokenizer_class: 'ChameleonTokenizer',
        bos_token: '<s>',
        eos_token: '</s>',
        pad_token: '<pad>',
        image_token: '<image>',
        boi_token: '<racm3:break>',
        eoi_token: '<eoss>',
        ...rest,
        model_max_length: 4096,
      },
    },
    { image_tokenizer: imageTokenizerGraph(imageSize, patch, embedDim, imageTokenIds, spec.seed + 303, dtype), decoder_model_merged: decoderGraph(spec) },
    settings,
  );
  return { dir, specialIds: ids, decoder: spec, promptText: `<image>${QUESTION}`, dtype, imageTokenIds, grid };
}
