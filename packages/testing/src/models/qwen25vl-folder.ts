import { createRandom, type Random } from '@icot/core';
import { linearLayer } from './decoder.js';
import { FLOAT, FLOAT16, GraphBuilder, INT64 } from './graph-builder.js';
import { chatMlTemplate, tokenizerFiles } from './tokenizer-files.js';
import { decoderGraph, decoderSpec, embedTokensGraph, QUESTION, QWEN_SPECIALS, qwenMropeSection, writeFolder, type GraphWriter, type TinyModelInfo, type TinyModelSettings } from './vlm-folders.js';
import { halfActivations, quantizedWeights, type WeightDtype } from './weights.js';

/** Settings of {@link writeTinyQwen25Vl}. */
export interface TinyQwen25VlSettings extends TinyModelSettings {
  /** Largest image in pixels after the smart resize (`max_pixels`, default 224 * 224). */
  readonly maxPixels?: number;
  /** `vision_config.window_size` in pixels (default 112, as published: 4 x 4 merged tokens per window). */
  readonly windowSize?: number;
  /**
   * The vision blocks in order, each attending within windows or over the whole image (default
   * `['window', 'full']`: `fullatt_block_indexes` [1]).
   */
  readonly visionBlocks?: readonly ('window' | 'full')[];
  /** Also output the vision encoder's window order (`debug.window_order`, int64 [tokens]) for tests. */
  readonly exposeWindowOrder?: boolean;
}

const PATCH_DIM = 3 * 2 * 14 * 14; // channels x temporal patch x 14 x 14
const MERGE = 2;

/**
 * The vision encoder of the tiny Qwen2.5-VL: `pixel_values` [patches, 1176] (the processor's
 * flattened patches, 2 x 2 merge blocks contiguous) and `image_grid_thw` [images, 3] ->
 * `image_features` [merged tokens, hidden] in raster order. Each 2 x 2 block of patches becomes
 * one token; the tokens are reordered into windows as transformers' `get_window_index` orders
 * them (per image and frame, `window / 28`-token squares from the top left, raster order of
 * windows, raster order inside), attention blocks attend within a window (or within the whole
 * image for full blocks), and the inverse order restores raster order before the merger - the
 * data flow of the real export, with every index computed in the graph from `image_grid_thw`.
 */
function visionGraph(hidden: number, windowSide: number, blocks: readonly ('window' | 'full')[], seed: number, dtype: WeightDtype, exposeWindowOrder: boolean): GraphWriter {
  return {
    estimatedBytes: (4 * PATCH_DIM + (4 * blocks.length + 1) * hidden) * hidden * 4,
    build: (options) => {
      const g = new GraphBuilder('', options);
      const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
      const random: Random = createRandom(seed);
      const linear = (x: string, name: string, inDim: number, outDim: number, std: number): string => linearLayer(g, x, name, inDim, outDim, random, std, dtype);
      const pixels = g.input('pixel_values', act, ['num_patches', PATCH_DIM]);
      const thw = g.input('image_grid_thw', INT64, ['num_images', 3]);
      const merged = g.op('Reshape', [pixels, g.int64([-1, 4 * PATCH_DIM])]);
      const x = g.op('Tanh', [linear(merged, 'visual.patch_embed', 4 * PATCH_DIM, hidden, 0.02)]); // [M, hidden]

      // Per merged token (raster order over all images): image, frame, row, column -> window id and sort key.
      const column = (i: number): string => g.op('Gather', [thw, g.int64([i], [])], [{ name: 'axis', int: 1 }]); // [I]
      const frames = column(0);
      const rows = g.op('Div', [column(1), g.int64([MERGE], [])]);
      const cols = g.op('Div', [column(2), g.int64([MERGE], [])]);
      const counts = g.op('Mul', [g.op('Mul', [frames, rows]), cols]);
      const ends = g.op('CumSum', [counts, g.int64([0], [])]);
      const starts = g.op('Sub', [ends, counts]);
      const total = g.op('Squeeze', [g.op('Gather', [g.op('Shape', [x]), g.int64([0])], [{ name: 'axis', int: 0 }]), g.int64([0])]);
      const index = g.op('Range', [g.int64([0], []), total, g.int64([1], [])]); // [M]
      const after = g.op('GreaterOrEqual', [g.op('Unsqueeze', [index, g.int64([1])]), g.op('Unsqueeze', [ends, g.int64([0])])]); // [M, I]
      const imageOf = g.op('ReduceSum', [g.op('Cast', [after], [{ name: 'to', int: INT64 }]), g.int64([1])], [{ name: 'keepdims', int: 0 }]);
      const of = (perImage: string): string => g.op('Gather', [perImage, imageOf], [{ name: 'axis', int: 0 }]);
      const local = g.op('Sub', [index, of(starts)]);
      const tokenRows = of(rows);
      const tokenCols = of(cols);
      const area = g.op('Mul', [tokenRows, tokenCols]);
      const frame = g.op('Div', [local, area]);
      const within = g.op('Mod', [local, area]);
      const row = g.op('Div', [within, tokenCols]);
      const col = g.op('Mod', [within, tokenCols]);
      const side = g.int64([windowSide], []);
      const windowsAcross = (n: string): string => g.op('Div', [g.op('Add', [n, g.int64([windowSide - 1], [])]), side]);
      const imageWindows = g.op('Mul', [g.op('Mul', [frames, windowsAcross(rows)]), windowsAcross(cols)]);
      const firstWindow = g.op('CumSum', [imageWindows, g.int64([0], [])], [{ name: 'exclusive', int: 1 }]);
      const windowRow = g.op('Add', [g.op('Mul', [frame, windowsAcross(tokenRows)]), g.op('Div', [row, side])]);
      const windowId = g.op('Add', [of(firstWindow), g.op('Add', [g.op('Mul', [windowRow, windowsAcross(tokenCols)]), g.op('Div', [col, side])])]);
      const inWindow = g.op('Add', [g.op('Mul', [g.op('Mod', [row, side]), side]), g.op('Mod', [col, side])]);
      const key = g.op('Add', [g.op('Mul', [windowId, g.int64([windowSide * windowSide], [])]), inWindow]);
      const k = g.op('Unsqueeze', [total, g.int64([0])]);
      const ascending = (values: string): string =>
        g.op('TopK', [g.op('Cast', [values], [{ name: 'to', int: FLOAT }]), k], [{ name: 'axis', int: 0 }, { name: 'largest', int: 0 }, { name: 'sorted', int: 1 }], { outputs: 2 })[1]!;
      const order = ascending(key); // window order: order[i] = raster index of the i-th token
      const inverse = ascending(order);
      if (exposeWindowOrder) g.output(order, 'debug.window_order', INT64, ['num_image_tokens']);

      // Blocks in window order: attention masked to the token's window (or image), residual.
      const windowOfSorted = g.op('Gather', [windowId, order], [{ name: 'axis', int: 0 }]);
      const imageOfSorted = g.op('Gather', [imageOf, order], [{ name: 'axis', int: 0 }]);
      const same = (ids: string): string => g.op('Equal', [g.op('Unsqueeze', [ids, g.int64([1])]), g.op('Unsqueeze', [ids, g.int64([0])])]);
      let h = g.op('Gather', [x, order], [{ name: 'axis', int: 0 }]);
      blocks.forEach((kind, b) => {
        const q = linear(h, `visual.blocks.${b}.q`, hidden, hidden, 0.2);
        const kk = linear(h, `visual.blocks.${b}.k`, hidden, hidden, 0.2);
        const v = linear(h, `visual.blocks.${b}.v`, hidden, hidden, 0.2);
        const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [kk], [{ name: 'perm', ints: [1, 0] }])]), g.float([1 / Math.sqrt(hidden)], [], act)]);
        const scores32 = act === FLOAT ? scores : g.op('Cast', [scores], [{ name: 'to', int: FLOAT }]);
        const masked = g.op('Where', [same(kind === 'window' ? windowOfSorted : imageOfSorted), scores32, g.float([-1e9])]);
        let probs = g.op('Softmax', [masked], [{ name: 'axis', int: -1 }]);
        if (act !== FLOAT) probs = g.op('Cast', [probs], [{ name: 'to', int: act }]);
        h = g.op('Add', [h, linear(g.op('MatMul', [probs, v]), `visual.blocks.${b}.proj`, hidden, hidden, 0.2)]);
      });
      const raster = g.op('Gather', [h, inverse], [{ name: 'axis', int: 0 }]);
      g.output(linear(g.op('Tanh', [raster]), 'visual.merger', hidden, hidden, 1), 'image_features', act, ['num_image_tokens', hidden]);
      return g.build(quantizedWeights(dtype) ? new Map([['', 17], ['com.microsoft', 1]]) : undefined);
    },
  };
}

/**
 * Write a tiny random-weight Qwen2.5-VL model folder in the onnx-community layout: the vision
 * encoder takes `pixel_values` and `image_grid_thw` (Qwen2-VL's is `grid_thw`) and reorders the
 * merged tokens into windows and back (see the README), an M-RoPE decoder with `position_ids`
 * [3,B,S], the embedding graph, a byte-level BPE tokenizer with Qwen's special tokens and ChatML
 * template, Qwen2VLImageProcessor preprocessing, and a `qwen2_5_vl` config with both the flat text
 * fields and `text_config` (`qwen2_5_vl_text`, which transformers.js reads) and the Qwen2.5-VL
 * vision fields (`window_size`, `fullatt_block_indexes`, `tokens_per_second`, `out_hidden_size`).
 */
export async function writeTinyQwen25Vl(dir: string, settings: TinyQwen25VlSettings = {}): Promise<TinyModelInfo> {
  const tok = tokenizerFiles(QWEN_SPECIALS, { chatTemplate: chatMlTemplate('<|vision_start|><|image_pad|><|vision_end|>'), eosToken: '<|im_end|>', padToken: '<|endoftext|>' });
  const vocab = settings.vocab ?? tok.regularSize + QWEN_SPECIALS.length + 16;
  const hidden = settings.hidden ?? 64;
  const mrope = qwenMropeSection(hidden / (settings.heads ?? 4));
  const spec = decoderSpec(settings, vocab, mrope);
  const ids = tok.specialIds;
  const dtype = settings.dtype ?? 'fp32';
  const windowSize = settings.windowSize ?? 112;
  const windowSide = Math.floor(windowSize / MERGE / 14);
  if (windowSide < 1) throw new Error('writeTinyQwen25Vl: windowSize must be at least 28 pixels (one merged token)');
  const blocks = settings.visionBlocks ?? ['window', 'full'];
  const text = {
    hidden_size: hidden,
    intermediate_size: spec.intermediate,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    num_key_value_heads: spec.kvHeads,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: spec.ropeTheta,
    vocab_size: vocab,
    max_position_embeddings: settings.maxPositionEmbeddings ?? 32768,
    bos_token_id: ids['<|endoftext|>'],
    eos_token_id: ids['<|im_end|>'],
    rope_scaling: { type: 'mrope', mrope_section: mrope },
    tie_word_embeddings: false,
  };
  await writeFolder(
    dir,
    {
      'config.json': {
        architectures: ['Qwen2_5_VLForConditionalGeneration'],
        model_type: 'qwen2_5_vl',
        ...text,
        vision_start_token_id: ids['<|vision_start|>'],
        vision_end_token_id: ids['<|vision_end|>'],
        vision_token_id: ids['<|vision_pad|>'],
        image_token_id: ids['<|image_pad|>'],
        video_token_id: ids['<|video_pad|>'],
        text_config: { model_type: 'qwen2_5_vl_text', ...text },
        vision_config: {
          model_type: 'qwen2_5_vl',
          depth: blocks.length,
          hidden_size: hidden,
          out_hidden_size: hidden,
          intermediate_size: 2 * hidden,
          num_heads: 1,
          in_chans: 3,
          patch_size: 14,
          spatial_merge_size: MERGE,
          temporal_patch_size: 2,
          window_size: windowSize,
          fullatt_block_indexes: blocks.flatMap((kind, i) => (kind === 'full' ? [i] : [])),
          tokens_per_second: 2,
        },
        icot_generated: { by: '@icot/testing', attention: spec.attention, seed: spec.seed, dtype },
      },
      'generation_config.json': { bos_token_id: ids['<|endoftext|>'], eos_token_id: [ids['<|im_end|>'], ids['<|endoftext|>']], pad_token_id: ids['<|endoftext|>'], do_sample: false },
      'preprocessor_config.json': {
        min_pixels: 56 * 56,
        max_pixels: settings.maxPixels ?? 224 * 224,
        patch_size: 14,
        temporal_patch_size: 2,
        merge_size: MERGE,
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
        do_resize: true,
        do_rescale: true,
        do_normalize: true,
        do_convert_rgb: true,
        resample: 3,
        rescale_factor: 1 / 255,
        image_processor_type: 'Qwen2VLImageProcessor',
        processor_class: 'Qwen2_5_VLProcessor',
      },
      'tokenizer.json': tok.tokenizerJson,
      'tokenizer_config.json': tok.tokenizerConfig,
    },
    {
      vision_encoder: visionGraph(hidden, windowSide, blocks, spec.seed + 303, dtype, settings.exposeWindowOrder ?? false),
      embed_tokens: embedTokensGraph(vocab, hidden, spec.seed + 7, dtype),
      decoder_model_merged: decoderGraph(spec),
    },
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
