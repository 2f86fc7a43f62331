import { AttentionUnavailableError, PromptError, throwIfAborted } from '../errors.js';
import { concatPositions, segmentLength, sequentialPositions } from '../positions.js';
import type { InsertionBlock, ModelFamilyV1 } from '../spec/family.js';
import type {
  Box,
  DecodingSessionV1,
  EncodedImage,
  InputSegment,
  PreparedPrompt,
  PromptImage,
  PromptInput,
  RgbImage,
  StepInput,
  StepOutput,
  TokenizerV1,
  VisionLanguageModelV1,
} from '../spec/model.js';

/** Settings of {@link createToyModel}. */
export interface ToyModelSettings {
  /** Patch grid of every encoded image (default 4x4). */
  readonly grid?: { readonly rows: number; readonly cols: number };
  /** Seed that changes the toy model's "weights" (default 1). */
  readonly seed?: number;
  /** Whether the toy model reports attention (default true). */
  readonly attention?: boolean;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz .,!?\n';
/** Vocabulary of the toy model: 32 characters, then `<image>`, `<eos>`, then 64 image-code tokens. */
export const TOY_IMAGE_TOKEN = 32;
/** End-of-sequence token of the toy model. */
export const TOY_EOS_TOKEN = 33;
const TOY_IMAGE_CODE_BASE = 34;
const TOY_VOCAB = TOY_IMAGE_CODE_BASE + 64;

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
        else s += `<img${id - TOY_IMAGE_CODE_BASE}>`;
      }
      return s;
    },
    tokenToId(token) {
      if (token === '<image>') return TOY_IMAGE_TOKEN;
      if (token === '<eos>') return TOY_EOS_TOKEN;
      const i = ALPHABET.indexOf(token);
      return token.length === 1 && i >= 0 ? i : undefined;
    },
  };
}

/** The toy family: 1-D positions, an image is its patch tokens, a block is the selected patches. */
export function createToyFamily(): ModelFamilyV1 {
  return {
    specificationVersion: 'v1',
    name: 'toy',
    imagePlaceholder: '<image>',
    positionAxes: 1,
    defaults: { k: 4, insertAfterPrompt: false, excludeSelected: false },
    suppressedTokenIds: Array.from({ length: 64 }, (_, i) => TOY_IMAGE_CODE_BASE + i),
    expandPrompt(tokenIds, images) {
      const segments: InputSegment[] = [];
      const promptImages: PromptImage[] = [];
      const text: number[] = [];
      let run: number[] = [];
      let offset = 0;
      let imageIndex = 0;
      for (const id of tokenIds) {
        if (id !== TOY_IMAGE_TOKEN) {
          run.push(id);
          text.push(id);
          continue;
        }
        const image = images[imageIndex++];
        if (!image) throw new PromptError('More image placeholders than images.');
        if (run.length) segments.push({ type: 'tokens', ids: run });
        offset += run.length;
        run = [];
        promptImages.push({ image, start: offset });
        segments.push({ type: 'image', image });
        offset += image.patchCount;
      }
      if (run.length) segments.push({ type: 'tokens', ids: run });
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

/**
 * A deterministic toy vision-language model written in plain TypeScript: a real implementation
 * of the v1 specification (KV "cache" of input codes, logits and attention derived by hashing),
 * for testing loops, selectors and decoders without a neural network.
 */
export function createToyModel(settings: ToyModelSettings = {}): VisionLanguageModelV1 & { readonly steps: StepInput[] } {
  const grid = settings.grid ?? { rows: 4, cols: 4 };
  const seed = settings.seed ?? 1;
  const family = createToyFamily();
  const tokenizer = toyTokenizer();
  const steps: StepInput[] = [];
  const attentionOn = settings.attention ?? true;
  const codeOf = (segment: InputSegment): number[] => {
    if (segment.type === 'tokens') return [...segment.ids];
    const img = segment.image as ToyEncodedImage;
    const patches = segment.patches ?? Array.from({ length: img.patchCount }, (_, i) => i);
    return patches.map((p) => TOY_IMAGE_CODE_BASE + img.codes[p]!);
  };
  return {
    specificationVersion: 'v1',
    provider: 'toy',
    modelId: `toy-${seed}`,
    family,
    capabilities: attentionOn ? { attention: true, kvCache: true } : { attention: false, attentionUnavailableReason: 'the toy model was built without attention', kvCache: true },
    rope: { theta: 10000, headDim: 2, rotaryDim: 2, layout: 'half' },
    tokenizer,
    vocabSize: TOY_VOCAB,
    eosTokenIds: [TOY_EOS_TOKEN],
    steps,
    async encodeImage(image: RgbImage): Promise<ToyEncodedImage> {
      const patchCount = grid.rows * grid.cols;
      const codes = new Int32Array(patchCount);
      for (let i = 0; i < patchCount; i++) codes[i] = Math.floor(hash(image.data[i % image.data.length] ?? 0, i + seed) * 64);
      const pw = image.width / grid.cols;
      const ph = image.height / grid.rows;
      return {
        grid,
        patchCount,
        size: { width: image.width, height: image.height },
        codes,
        patchBox: (index: number): Box => ({ x: (index % grid.cols) * pw, y: Math.floor(index / grid.cols) * ph, width: pw, height: ph }),
      };
    },
    async preparePrompt(input: PromptInput): Promise<PreparedPrompt> {
      const text = 'text' in input ? input.text : input.messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.map((c) => (c.type === 'image' ? '<image>' : c.text)).join(''))).join('\n');
      const expanded = family.expandPrompt(tokenizer.encode(text), input.images);
      const { positions, nextPosition } = family.promptPositions(expanded.segments);
      return { ...expanded, positions, nextPosition, length: positions.length };
    },
    createSession(): DecodingSessionV1 {
      const cache: number[] = [];
      let disposed = false;
      return {
        get length() {
          return cache.length;
        },
        // One layer, one head; an entry's "key" is (code, position), rotated keys are stored back rounded.
        kvCache: {
          layers: 1,
          kvHeads: 1,
          headDim: 2,
          appendCopies(sources, transformKeys) {
            const keys = new Float32Array(sources.length * 2);
            sources.forEach((s, i) => {
              const entry = cache[s];
              if (entry === undefined) throw new Error(`toy model: no cache entry ${s}`);
              keys[2 * i] = Math.floor(entry / 4096);
              keys[2 * i + 1] = entry % 4096;
            });
            transformKeys?.(0, keys);
            for (let i = 0; i < sources.length; i++) cache.push(Math.round(keys[2 * i]!) * 4096 + (Math.round(keys[2 * i + 1]!) & 4095));
          },
        },
        async step(input: StepInput): Promise<StepOutput> {
          if (disposed) throw new Error('session disposed');
          throwIfAborted(input.signal);
          if (input.attention && !attentionOn) throw new AttentionUnavailableError('the toy model was built without attention');
          steps.push(input);
          const codes = input.segments.flatMap(codeOf);
          if (codes.length !== input.positions.length) throw new Error(`toy model: ${codes.length} inputs but ${input.positions.length} positions`);
          for (let i = 0; i < codes.length; i++) cache.push(codes[i]! * 4096 + input.positions.data[i]!);
          const last = cache[cache.length - 1]!;
          let context = seed;
          for (const c of cache) context = (Math.imul(context, 31) + c) | 0;
          const logits = new Float32Array(TOY_VOCAB);
          for (let v = 0; v < TOY_VOCAB; v++) logits[v] = 4 * hash(context, v);
          let attention: Float32Array | undefined;
          if (input.attention) {
            attention = new Float32Array(cache.length);
            let total = 0;
            for (let j = 0; j < cache.length; j++) total += attention[j] = Math.exp(3 * hash(last, cache[j]!));
            for (let j = 0; j < cache.length; j++) attention[j]! /= total;
          }
          return attention ? { logits, attention } : { logits };
        },
        dispose() {
          disposed = true;
        },
      };
    },
    async dispose() {},
  };
}
