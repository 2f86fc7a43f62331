import { AttentionUnavailableError, CapabilityError, OptionError, PromptError, throwIfAborted } from '../errors.js';
import { contiguousCacheIndices, patchCell } from '../patches.js';
import { concatPositions, segmentLength, sequentialPositions } from '../positions.js';
import type { InsertionBlock, ModelFamilyV2 } from '../spec/family.js';
import type {
  Box,
  DecodingSessionV2,
  EncodedImage,
  ImageTile,
  InputSegment,
  PreparedPrompt,
  PromptImage,
  PromptInput,
  RgbImage,
  StepInput,
  StepOutput,
  TokenizerV1,
  VisionLanguageModelV2,
} from '../spec/model.js';

/** Settings of {@link createToyModel}. */
export interface ToyModelSettings {
  /** Patch grid of every encoded image, or of every tile of a tiled image (default 4x4). */
  readonly grid?: { readonly rows: number; readonly cols: number };
  /**
   * Tile images (like SmolVLM): `rows x cols` tiles of `grid` patches each, plus a global view when
   * `global` (default true); a `<tile>` token precedes each tile in the prompt. Default: single-grid images.
   */
  readonly tiles?: { readonly rows: number; readonly cols: number; readonly global?: boolean };
  /** Seed that changes the toy model's "weights" (default 1). */
  readonly seed?: number;
  /** Whether the toy model reports attention (default true). */
  readonly attention?: boolean;
  /** Number of "decoder layers", each with its own attention row (default 2). */
  readonly layers?: number;
  /** Whether steps honour `layerAttention` (default: when attention is on). */
  readonly layerAttention?: boolean;
  /** Whether sessions can fork (default true). */
  readonly fork?: boolean;
  /** Whether sessions run batched side runs (default true). */
  readonly batchedSideRuns?: boolean;
  /** Whether encoded images keep their pixels (default true). */
  readonly pixels?: boolean;
  /**
   * The context length the model states (`maxContextTokens`); its sessions refuse a step that
   * would grow the cache past it, as a model's position table would. Default: none stated, no limit.
   */
  readonly maxContextTokens?: number;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz .,!?\n';
/** Vocabulary of the toy model: 32 characters, `<image>`, `<eos>`, 64 image-code tokens, then `<tile>`. */
export const TOY_IMAGE_TOKEN = 32;
/** End-of-sequence token of the toy model. */
export const TOY_EOS_TOKEN = 33;
const TOY_IMAGE_CODE_BASE = 34;
/** The token that precedes each tile of a tiled toy image. */
export const TOY_TILE_TOKEN = TOY_IMAGE_CODE_BASE + 64;
const TOY_VOCAB = TOY_TILE_TOKEN + 1;

function hash(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

/** A toy encoded image: patch `i` carries the code `codes[i]`. */
export interface ToyEncodedImage extends EncodedImage {
  readonly codes: Int32Array;
}

function toyTokenizer(): TokenizerV1 {
  return {
    encode(text) {
      const ids: number[] = [];
      for (let i = 0; i < text.length; ) {
        if (text.startsWith('<image>', i)) {
          ids.push(TOY_IMAGE_TOKEN);
          i += 7;
          continue;
        }
        const c = ALPHABET.indexOf(text[i]!.toLowerCase());
        ids.push(c < 0 ? ALPHABET.indexOf('?') : c);
        i += 1;
      }
      return ids;
    },
    decode(ids, options) {
      let s = '';
      for (const id of ids) {
        if (id < ALPHABET.length) s += ALPHABET[id];
        else if (options?.skipSpecialTokens) continue;
        else if (id === TOY_IMAGE_TOKEN) s += '<image>';
        else if (id === TOY_EOS_TOKEN) s += '<eos>';
        else if (id === TOY_TILE_TOKEN) s += '<tile>';
        else s += `<img${id - TOY_IMAGE_CODE_BASE}>`;
      }
      return s;
    },
    tokenToId(token) {
      if (token === '<image>') return TOY_IMAGE_TOKEN;
      if (token === '<eos>') return TOY_EOS_TOKEN;
      if (token === '<tile>') return TOY_TILE_TOKEN;
      const i = ALPHABET.indexOf(token);
      return token.length === 1 && i >= 0 ? i : undefined;
    },
  };
}

/**
 * The toy family: 1-D positions, an image is its patch tokens (a tiled image: each tile's patch
 * tokens after a `<tile>` token), a block is the selected patches.
 */
export function createToyFamily(): ModelFamilyV2 {
  return {
    specificationVersion: 'v2',
    name: 'toy',
    imagePlaceholder: '<image>',
    positionAxes: 1,
    defaults: { k: 4, insertAfterPrompt: false, excludeSelected: false },
    suppressedTokenIds: [...Array.from({ length: 64 }, (_, i) => TOY_IMAGE_CODE_BASE + i), TOY_TILE_TOKEN],
    expandPrompt(tokenIds, images) {
      const segments: InputSegment[] = [];
      const promptImages: PromptImage[] = [];
      const text: number[] = [];
      let run: number[] = [];
      let offset = 0;
      let imageIndex = 0;
      const flush = (): void => {
        if (run.length) segments.push({ type: 'tokens', ids: run });
        offset += run.length;
        run = [];
      };
      for (const id of tokenIds) {
        if (id !== TOY_IMAGE_TOKEN) {
          run.push(id);
          text.push(id);
          continue;
        }
        const image = images[imageIndex++];
        if (!image) throw new PromptError('More image placeholders than images.');
        if (!image.tiles) {
          flush();
          promptImages.push({ image, cacheIndices: contiguousCacheIndices(offset, image.patchCount) });
          segments.push({ type: 'image', image });
          offset += image.patchCount;
          continue;
        }
        const cacheIndices = new Int32Array(image.patchCount);
        for (const tile of image.tiles) {
          run.push(TOY_TILE_TOKEN);
          text.push(TOY_TILE_TOKEN);
          flush();
          const count = tile.grid.rows * tile.grid.cols;
          const patches = Array.from({ length: count }, (_, i) => tile.firstPatch + i);
          for (const p of patches) cacheIndices[p] = offset++;
          segments.push({ type: 'image', image, patches });
        }
        promptImages.push({ image, cacheIndices });
      }
      flush();
      if (imageIndex !== images.length) throw new PromptError(`${images.length} images but ${imageIndex} placeholders.`);
      return { segments, images: promptImages, textTokenIds: text };
    },
    promptPositions(segments) {
      const n = segmentLength(segments);
      return { positions: sequentialPositions(1, 0, n), nextPosition: n };
    },
    textPositions: (start, count) => sequentialPositions(1, start, count),
    insertionBlock({ image, patches, start }): InsertionBlock {
      return {
        segments: [{ type: 'image', image, patches }],
        positions: concatPositions([sequentialPositions(1, start, patches.length)]),
        nextPosition: start + patches.length,
      };
    },
  };
}

/** What the toy model returns besides the spec: every step it was asked for, in order (forks and side runs included). */
export interface ToyModel extends VisionLanguageModelV2 {
  readonly steps: StepInput[];
}

/**
 * A deterministic toy vision-language model written in plain TypeScript: a real implementation
 * of the v2 specification (KV "cache" of input codes; logits and per-layer attention derived by
 * hashing; forks, batched side runs, tiled images, pixels), for testing loops, selectors and
 * decoders without a neural network. Capabilities can be switched off to test refusals.
 */
export function createToyModel(settings: ToyModelSettings = {}): ToyModel {
  const grid = settings.grid ?? { rows: 4, cols: 4 };
  const seed = settings.seed ?? 1;
  const family = createToyFamily();
  const tokenizer = toyTokenizer();
  const steps: StepInput[] = [];
  const attentionOn = settings.attention ?? true;
  const layers = settings.layers ?? 2;
  const layerAttentionOn = attentionOn && (settings.layerAttention ?? true);
  const forkOn = settings.fork ?? true;
  const sideRunsOn = settings.batchedSideRuns ?? true;
  const pixelsOn = settings.pixels ?? true;
  const allLayers = Array.from({ length: layers }, (_, i) => i);
  const codeOf = (segment: InputSegment): number[] => {
    if (segment.type === 'tokens') return [...segment.ids];
    const img = segment.image as ToyEncodedImage;
    const patches = segment.patches ?? Array.from({ length: img.patchCount }, (_, i) => i);
    return patches.map((p) => TOY_IMAGE_CODE_BASE + img.codes[p]!);
  };
  /** The attention row of `last` over `cache` in one layer (layer 0 keeps the v1 toy's numbers). */
  const layerRow = (cache: readonly number[], last: number, layer: number): Float32Array => {
    const row = new Float32Array(cache.length);
    const key = layer === 0 ? last : Math.imul(last ^ 0x5bd1e995, layer + 1);
    let total = 0;
    for (let j = 0; j < cache.length; j++) total += row[j] = Math.exp(3 * hash(key, cache[j]!));
    for (let j = 0; j < cache.length; j++) row[j]! /= total;
    return row;
  };
  const meanRow = (cache: readonly number[], last: number, over: readonly number[]): Float32Array => {
    const row = new Float32Array(cache.length);
    for (const layer of over) {
      const r = layerRow(cache, last, layer);
      for (let j = 0; j < row.length; j++) row[j]! += r[j]!;
    }
    for (let j = 0; j < row.length; j++) row[j]! /= over.length;
    return row;
  };
  /** One step over `cache` (extended in place). */
  const run = (cache: number[], input: StepInput): StepOutput => {
    throwIfAborted(input.signal);
    if (input.attention && !attentionOn) throw new AttentionUnavailableError('the toy model was built without attention');
    if (input.layerAttention && !layerAttentionOn) throw new CapabilityError('layerAttention', 'the toy model was built without per-layer attention');
    for (const layer of input.layerAttention ?? [])
      if (!Number.isInteger(layer) || layer < 0 || layer >= layers) throw new OptionError(`toy model: no layer ${layer} (it has ${layers}).`);
    steps.push(input);
    const codes = input.segments.flatMap(codeOf);
    if (codes.length !== input.positions.length) throw new Error(`toy model: ${codes.length} inputs but ${input.positions.length} positions`);
    if (settings.maxContextTokens !== undefined && cache.length + codes.length > settings.maxContextTokens)
      throw new Error(`toy model: ${cache.length} + ${codes.length} inputs pass the context of ${settings.maxContextTokens} tokens`);
    for (let i = 0; i < codes.length; i++) cache.push(codes[i]! * 4096 + input.positions.data[i]!);
    const last = cache[cache.length - 1]!;
    let context = seed;
    for (const c of cache) context = (Math.imul(context, 31) + c) | 0;
    const logits = new Float32Array(TOY_VOCAB);
    for (let v = 0; v < TOY_VOCAB; v++) logits[v] = 4 * hash(context, v);
    return {
      logits,
      ...(input.attention ? { attention: meanRow(cache, last, allLayers) } : {}),
      ...(input.layerAttention ? { layerAttention: meanRow(cache, last, input.layerAttention) } : {}),
    };
  };
  const session = (cache: number[]): DecodingSessionV2 => {
    let disposed = false;
    const live = (): void => {
      if (disposed) throw new Error('session disposed');
    };
    const base: DecodingSessionV2 = {
      get length() {
        return cache.length;
      },
      // The cache as one layer of one head of dimension 2: an entry's "key" is (code, position); rotated keys are stored back rounded.
      kvCache: {
        layers: 1,
        kvHeads: 1,
        headDim: 2,
        appendCopies(sources, transformKeys) {
          live();
          const keys = new Float32Array(sources.length * 2);
          sources.forEach((s, i) => {
            const entry = cache[s];
            if (entry === undefined) throw new Error(`toy model: no cache entry ${s}`);
            keys[2 * i] = Math.floor(entry / 4096);
            keys[2 * i + 1] = entry % 4096;
          });
          transformKeys?.(0, keys);
          if (settings.maxContextTokens !== undefined && cache.length + sources.length > settings.maxContextTokens)
            throw new Error(`toy model: ${cache.length} + ${sources.length} copies pass the context of ${settings.maxContextTokens} tokens`);
          for (let i = 0; i < sources.length; i++) cache.push(Math.round(keys[2 * i]!) * 4096 + (Math.round(keys[2 * i + 1]!) & 4095));
        },
      },
      async step(input: StepInput): Promise<StepOutput> {
        live();
        return run(cache, input);
      },
      dispose() {
        disposed = true;
      },
    };
    return Object.assign(
      base,
      forkOn
        ? {
            fork: (): DecodingSessionV2 => {
              live();
              return session([...cache]);
            },
          }
        : {},
      sideRunsOn
        ? {
            sideRuns: async (inputs: readonly StepInput[]): Promise<readonly StepOutput[]> => {
              live();
              if (new Set(inputs.map((i) => i.positions.length)).size > 1) throw new OptionError('toy model: side runs must have equal lengths.');
              return inputs.map((input) => run([...cache], input));
            },
          }
        : {},
    );
  };
  return {
    specificationVersion: 'v2',
    provider: 'toy',
    modelId: `toy-${seed}`,
    family,
    capabilities: {
      attention: attentionOn,
      ...(attentionOn ? {} : { attentionUnavailableReason: 'the toy model was built without attention' }),
      attentionLayers: attentionOn ? allLayers : [],
      decoderLayers: layers,
      layerAttention: layerAttentionOn,
      kvCache: true,
      fork: forkOn,
      batchedSideRuns: sideRunsOn,
      pixels: pixelsOn,
      tiledImages: settings.tiles !== undefined,
    },
    rope: { theta: 10000, headDim: 2, rotaryDim: 2, layout: 'half' },
    tokenizer,
    vocabSize: TOY_VOCAB,
    ...(settings.maxContextTokens !== undefined ? { maxContextTokens: settings.maxContextTokens } : {}),
    eosTokenIds: [TOY_EOS_TOKEN],
    steps,
    async encodeImage(image: RgbImage): Promise<ToyEncodedImage> {
      const tiling = settings.tiles;
      const perTile = grid.rows * grid.cols;
      const tiles: ImageTile[] = [];
      if (tiling) {
        const tw = image.width / tiling.cols;
        const th = image.height / tiling.rows;
        for (let r = 0; r < tiling.rows; r++)
          for (let c = 0; c < tiling.cols; c++)
            tiles.push({ grid, firstPatch: tiles.length * perTile, box: { x: c * tw, y: r * th, width: tw, height: th }, place: { row: r, col: c } });
        if (tiling.global ?? true) tiles.push({ grid, firstPatch: tiles.length * perTile, box: { x: 0, y: 0, width: image.width, height: image.height }, place: 'global' });
      }
      const patchCount = tiling ? tiles.length * perTile : perTile;
      const codes = new Int32Array(patchCount);
      for (let i = 0; i < patchCount; i++) codes[i] = Math.floor(hash(image.data[i % image.data.length] ?? 0, i + seed) * 64);
      const pw = image.width / grid.cols;
      const ph = image.height / grid.rows;
      const single = (index: number): Box => ({ x: (index % grid.cols) * pw, y: Math.floor(index / grid.cols) * ph, width: pw, height: ph });
      const encoded: ToyEncodedImage = {
        grid: tiling ? { rows: tiling.rows * grid.rows, cols: tiling.cols * grid.cols } : grid,
        patchCount,
        ...(tiling ? { tiles } : {}),
        size: { width: image.width, height: image.height },
        ...(pixelsOn ? { pixels: image } : {}),
        codes,
        patchBox: (index: number): Box => {
          if (!tiling) return single(index);
          const cell = patchCell(encoded, index);
          const box = tiles[cell.tile]!.box;
          const w = box.width / grid.cols;
          const h = box.height / grid.rows;
          return { x: box.x + cell.col * w, y: box.y + cell.row * h, width: w, height: h };
        },
      };
      return encoded;
    },
    async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
      const text = 'text' in input ? input.text : input.messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? '<image>' : c.text)).join(''))).join('\n');
      const expanded = family.expandPrompt(tokenizer.encode(text), input.images);
      const { positions, nextPosition } = family.promptPositions(expanded.segments);
      return { ...expanded, positions, nextPosition, length: positions.length };
    },
    createSession: () => session([]),
    async dispose() {},
  };
}
