import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FLOAT, GraphBuilder, INT64 } from '@icot/testing';

/**
 * A tiny open-vocabulary "colour detector" with the input/output contract of an OWL-ViT / OWLv2
 * export for transformers.js's `zero-shot-object-detection` (optimum's zero-shot-object-detection
 * export): inputs `input_ids` and `attention_mask` [queries, sequence] (int64) and `pixel_values`
 * [1, 3, H, W]; outputs `logits` [1, boxes, queries], `pred_boxes` [1, boxes, 4] (normalised
 * cx, cy, w, h), `text_embeds` [1, queries, 3] and `image_embeds` [1, g, g, 3]. The image is cut
 * into a g x g grid of patches, each predicting the box of its own cell; a query's embedding is the
 * colour its colour words name (in normalised pixel space), and a patch's logit is
 * `4 - |mean colour - query colour|^2` (-10 for a query without a colour word). With a CLIP-style
 * BPE tokenizer (lower case, `</w>` word ends, `<|startoftext|>` / `<|endoftext|>` around each
 * query, padding with `!`) and the real preprocessor configs, transformers.js runs it exactly as it
 * runs the published models: its tokenizer, its image processor, its post-processing.
 */

/** Colours the detector knows, in 8-bit RGB. */
export const DETECTOR_COLOURS: Readonly<Record<string, readonly [number, number, number]>> = {
  green: [0, 255, 0],
  yellow: [255, 255, 0],
  white: [255, 255, 255],
  black: [0, 0, 0],
  blue: [0, 0, 255],
  red: [255, 0, 0],
};

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** GPT-2's byte-to-unicode symbols (CLIP's BPE alphabet). */
function byteSymbols(): string[] {
  const printable = new Set<number>();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable.has(b) ? b : 256 + extra++));
}

/** CLIP-style tokenizer files whose colour words are single tokens; returns the files and each colour word's id. */
function clipTokenizer() {
  const symbols = byteSymbols();
  const vocab: Record<string, number> = {};
  for (const s of symbols) vocab[s] = Object.keys(vocab).length;
  for (const s of symbols) vocab[`${s}</w>`] = Object.keys(vocab).length;
  const merges: string[] = [];
  for (const word of Object.keys(DETECTOR_COLOURS)) {
    const chars = [...word];
    let current = chars[0]!;
    chars.slice(1).forEach((c, i) => {
      const next = i === chars.length - 2 ? `${c}</w>` : c;
      const merged = current + next;
      if (!(merged in vocab)) {
        merges.push(`${current} ${next}`);
        vocab[merged] = Object.keys(vocab).length;
      }
      current = merged;
    });
  }
  const start = Object.keys(vocab).length;
  vocab['<|startoftext|>'] = start;
  vocab['<|endoftext|>'] = start + 1;
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<|startoftext|>', start), special('<|endoftext|>', start + 1)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: ['<|endoftext|>', start + 1], cls: ['<|startoftext|>', start], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: '<|endoftext|>', continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
  const tokenizerConfig = {
    tokenizer_class: 'CLIPTokenizer',
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: '!',
    model_max_length: 16,
    do_lower_case: true,
    errors: 'replace',
  };
  const colourIds = Object.fromEntries(Object.keys(DETECTOR_COLOURS).map((word) => [word, vocab[`${word}</w>`]!]));
  return { tokenizerJson, tokenizerConfig, vocabSize: start + 2, colourIds };
}

/** Settings of {@link writeTinyDetector}. */
export interface TinyDetectorSettings {
  /** `owlvit` (stretches images to the square input, as OWL-ViT's processor does) or `owlv2` (its processor config; images padded to a square by the caller). */
  readonly kind: 'owlvit' | 'owlv2';
  /** Input side in pixels (default 32). */
  readonly size?: number;
  /** Patch side in pixels: the model predicts one box per patch (default 8). */
  readonly patch?: number;
}

/** Write a tiny colour detector folder in the transformers.js layout; returns the grid side. */
export async function writeTinyDetector(dir: string, settings: TinyDetectorSettings): Promise<{ readonly grid: number; readonly colourIds: Readonly<Record<string, number>> }> {
  const size = settings.size ?? 32;
  const patch = settings.patch ?? 8;
  const grid = size / patch;
  const boxes = grid * grid;
  const tok = clipTokenizer();
  const g = new GraphBuilder();
  const pixels = g.input('pixel_values', FLOAT, [1, 3, size, size]);
  const ids = g.input('input_ids', INT64, ['num_queries', 'sequence_length']);
  const mask = g.input('attention_mask', INT64, ['num_queries', 'sequence_length']);
  // image: mean colour of each patch
  const pooled = g.op('AveragePool', [pixels], [
    { name: 'kernel_shape', ints: [patch, patch] },
    { name: 'strides', ints: [patch, patch] },
  ]);
  const imageEmbeds = g.op('Transpose', [pooled], [{ name: 'perm', ints: [0, 2, 3, 1] }]);
  g.output(imageEmbeds, 'image_embeds', FLOAT, [1, grid, grid, 3]);
  const feats = g.op('Reshape', [imageEmbeds, g.int64([1, boxes, 1, 3])]);
  // text: the mean colour of a query's colour words (in normalised pixel space)
  const table = new Float32Array(tok.vocabSize * 3);
  const weights = new Float32Array(tok.vocabSize);
  for (const [word, rgb] of Object.entries(DETECTOR_COLOURS)) {
    const id = tok.colourIds[word]!;
    weights[id] = 1;
    for (let c = 0; c < 3; c++) table[id * 3 + c] = (rgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
  }
  const emb = g.op('Gather', [g.weight('colour_table', table, [tok.vocabSize, 3]), ids]);
  const w = g.op('Mul', [g.op('Gather', [g.weight('colour_word', weights, [tok.vocabSize]), ids]), g.op('Cast', [mask], [{ name: 'to', int: FLOAT }])]);
  const sum = g.op('ReduceSum', [g.op('Mul', [emb, g.op('Unsqueeze', [w, g.int64([2])])]), g.int64([1])], [{ name: 'keepdims', int: 0 }]);
  const count = g.op('ReduceSum', [w, g.int64([1])], [{ name: 'keepdims', int: 1 }]);
  const target = g.op('Div', [sum, g.op('Max', [count, g.float([1])])]);
  g.output(g.op('Unsqueeze', [target, g.int64([0])]), 'text_embeds', FLOAT, [1, 'num_queries', 3]);
  const diff = g.op('Sub', [feats, g.op('Reshape', [target, g.int64([1, 1, -1, 3])])]);
  const dist = g.op('ReduceSum', [g.op('Mul', [diff, diff]), g.int64([3])], [{ name: 'keepdims', int: 0 }]);
  const hasColour = g.op('Reshape', [g.op('Min', [count, g.float([1])]), g.int64([1, 1, -1])]);
  const score = g.op('Sub', [g.float([4]), dist]);
  const logits = g.op('Sub', [g.op('Mul', [score, hasColour]), g.op('Mul', [g.float([10]), g.op('Sub', [g.float([1]), hasColour])])]);
  g.output(logits, 'logits', FLOAT, [1, boxes, 'num_queries']);
  const cells = new Float32Array(boxes * 4);
  for (let r = 0; r < grid; r++)
    for (let c = 0; c < grid; c++) cells.set([(c + 0.5) / grid, (r + 0.5) / grid, 1 / grid, 1 / grid], (r * grid + c) * 4);
  g.output(g.weight('cell_boxes', cells, [1, boxes, 4]), 'pred_boxes', FLOAT, [1, boxes, 4]);

  const preprocessor =
    settings.kind === 'owlvit'
      ? { image_processor_type: 'OwlViTImageProcessor', processor_class: 'OwlViTProcessor', do_resize: true, size, resample: 3, do_center_crop: true, crop_size: size }
      : { image_processor_type: 'Owlv2ImageProcessor', processor_class: 'Owlv2Processor', do_pad: true, do_resize: true, size: { height: size, width: size }, resample: 2 };
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'onnx', 'model.onnx'), g.build());
  const files: Record<string, unknown> = {
    'config.json': { model_type: settings.kind, architectures: [settings.kind === 'owlvit' ? 'OwlViTForObjectDetection' : 'Owlv2ForObjectDetection'], icot_generated: { by: '@icot/selector-grounding tests', detector: 'colour' } },
    'preprocessor_config.json': { ...preprocessor, do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: CLIP_MEAN, image_std: CLIP_STD, do_convert_rgb: true },
    'tokenizer.json': tok.tokenizerJson,
    'tokenizer_config.json': tok.tokenizerConfig,
    'special_tokens_map.json': { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '!' },
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), JSON.stringify(content, null, 1));
  return { grid, colourIds: tok.colourIds };
}

/** BERT-style (uncased WordPiece) tokenizer files, as Grounding DINO's; returns them and each colour word's id. */
function bertTokenizer() {
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', ...Object.keys(DETECTOR_COLOURS), 'square', 'circle', 'thing', 'the', 'a', 'nothing'];
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const vocab: Record<string, number> = {};
  for (const token of [...words, ...letters, ...letters.map((l) => `##${l}`)]) if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  const special = (content: string) => ({ id: vocab[content]!, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
    model_max_length: 256,
  };
  const colourIds = Object.fromEntries(Object.keys(DETECTOR_COLOURS).map((word) => [word, vocab[word]!]));
  return { tokenizerJson, tokenizerConfig, vocabSize: Object.keys(vocab).length, colourIds };
}

/** Grounding DINO's text length: logits have one column per text position, up to 256. */
const GROUNDING_DINO_TEXT_POSITIONS = 256;

/**
 * A tiny colour detector with the input/output contract of a Grounding DINO export for
 * transformers.js: inputs `pixel_values` [1, 3, H, W], `input_ids`, `attention_mask`,
 * `token_type_ids` [1, sequence] (int64) and `pixel_mask` [1, H, W]; outputs `logits`
 * [1, queries, 256] (one column per text position, `4 - |patch colour - token colour|^2` for a
 * colour word, -10 elsewhere) and `pred_boxes` [1, queries, 4] (one query per patch of a g x g
 * grid, its cell's box). BERT-style uncased WordPiece tokenizer, as Grounding DINO's.
 */
export async function writeTinyGroundingDino(dir: string, settings: { readonly size?: number; readonly patch?: number } = {}): Promise<{ readonly grid: number }> {
  const size = settings.size ?? 32;
  const patch = settings.patch ?? 8;
  const grid = size / patch;
  const boxes = grid * grid;
  const tok = bertTokenizer();
  const g = new GraphBuilder();
  const pixels = g.input('pixel_values', FLOAT, [1, 3, size, size]);
  const ids = g.input('input_ids', INT64, [1, 'sequence_length']);
  const mask = g.input('attention_mask', INT64, [1, 'sequence_length']);
  g.input('token_type_ids', INT64, [1, 'sequence_length']);
  g.input('pixel_mask', INT64, [1, size, size]);
  const pooled = g.op('AveragePool', [pixels], [
    { name: 'kernel_shape', ints: [patch, patch] },
    { name: 'strides', ints: [patch, patch] },
  ]);
  const feats = g.op('Reshape', [g.op('Transpose', [pooled], [{ name: 'perm', ints: [0, 2, 3, 1] }]), g.int64([1, boxes, 1, 3])]);
  const table = new Float32Array(tok.vocabSize * 3);
  const weights = new Float32Array(tok.vocabSize);
  for (const [word, rgb] of Object.entries(DETECTOR_COLOURS)) {
    const id = tok.colourIds[word]!;
    weights[id] = 1;
    for (let c = 0; c < 3; c++) table[id * 3 + c] = (rgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
  }
  const colours = g.op('Reshape', [g.op('Gather', [g.weight('colour_table', table, [tok.vocabSize, 3]), ids]), g.int64([1, 1, -1, 3])]);
  const isColour = g.op('Reshape', [g.op('Mul', [g.op('Gather', [g.weight('colour_word', weights, [tok.vocabSize]), ids]), g.op('Cast', [mask], [{ name: 'to', int: FLOAT }])]), g.int64([1, 1, -1])]);
  const diff = g.op('Sub', [feats, colours]);
  const dist = g.op('ReduceSum', [g.op('Mul', [diff, diff]), g.int64([3])], [{ name: 'keepdims', int: 0 }]);
  const perToken = g.op('Sub', [g.op('Mul', [g.op('Sub', [g.float([4]), dist]), isColour]), g.op('Mul', [g.float([10]), g.op('Sub', [g.float([1]), isColour])])]);
  // pad the text axis to 256 positions with -10
  const length = g.op('Gather', [g.op('Shape', [ids]), g.int64([1])]);
  const pads = g.op('Concat', [g.int64([0, 0, 0, 0, 0]), g.op('Sub', [g.int64([GROUNDING_DINO_TEXT_POSITIONS]), length])], [{ name: 'axis', int: 0 }]);
  g.output(g.op('Pad', [perToken, pads, g.float([-10])], [{ name: 'mode', string: 'constant' }]), 'logits', FLOAT, [1, boxes, GROUNDING_DINO_TEXT_POSITIONS]);
  const cells = new Float32Array(boxes * 4);
  for (let r = 0; r < grid; r++)
    for (let c = 0; c < grid; c++) cells.set([(c + 0.5) / grid, (r + 0.5) / grid, 1 / grid, 1 / grid], (r * grid + c) * 4);
  g.output(g.weight('cell_boxes', cells, [1, boxes, 4]), 'pred_boxes', FLOAT, [1, boxes, 4]);
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'onnx', 'model.onnx'), g.build());
  const files: Record<string, unknown> = {
    'config.json': { model_type: 'grounding-dino', architectures: ['GroundingDinoForObjectDetection'], icot_generated: { by: '@icot/selector-grounding tests', detector: 'colour' } },
    'preprocessor_config.json': {
      image_processor_type: 'GroundingDinoImageProcessor',
      processor_class: 'GroundingDinoProcessor',
      do_resize: true,
      size: { height: size, width: size },
      resample: 2,
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: CLIP_MEAN,
      image_std: CLIP_STD,
      do_pad: false,
    },
    'tokenizer.json': tok.tokenizerJson,
    'tokenizer_config.json': tok.tokenizerConfig,
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), JSON.stringify(content, null, 1));
  return { grid };
}

/** A `width x height` RGB image of one background colour with rectangles painted on it. */
export function paintedImage(width: number, height: number, background: readonly number[], rects: readonly { x: number; y: number; width: number; height: number; rgb: readonly number[] }[]) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  for (const r of rects) for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) data.set(r.rgb, (y * width + x) * 3);
  return { width, height, data };
}
