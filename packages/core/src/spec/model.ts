import type { ModelFamilyV1 } from './family.js';

/** A decoded 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** `width * height * 3` bytes, RGB interleaved, rows top to bottom. */
  readonly data: Uint8Array;
}

/** A rectangle in pixels of the original (un-resized) image. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The grid of image tokens a model sees for one image (after any patch merging). */
export interface PatchGrid {
  readonly rows: number;
  readonly cols: number;
}

/**
 * An image after the model's vision front end (encoder features or discrete image tokens).
 * Patch `i` is image token `i` in raster order of {@link EncodedImage.grid}.
 * Backends attach their own payload; other packages only use the fields below.
 */
export interface EncodedImage {
  /** Patch grid; `patchCount === grid.rows * grid.cols`. */
  readonly grid: PatchGrid;
  readonly patchCount: number;
  /** Size of the original image in pixels. */
  readonly size: { readonly width: number; readonly height: number };
  /** Pixel rectangle of patch `index` in the original image. */
  patchBox(index: number): Box;
  /**
   * The sub-image of grid rows `[rows[0], rows[1]]` and columns `[cols[0], cols[1]]` (inclusive),
   * for prompts that show a region of an image (e.g. in one-shot demonstrations).
   */
  crop?(rows: readonly [number, number], cols: readonly [number, number]): EncodedImage;
}

/**
 * A run of model input: text tokens, or the tokens of an image (all patches, or a subset in the
 * given order). Backends turn segments into embeddings or token ids.
 */
export type InputSegment =
  | { readonly type: 'tokens'; readonly ids: readonly number[] }
  | { readonly type: 'image'; readonly image: EncodedImage; readonly patches?: readonly number[] };

/**
 * Position ids for `length` consecutive inputs: `axes` rows (3 for M-RoPE, 1 for 1-D RoPE),
 * stored axis-major (`data[axis * length + i]`).
 */
export interface PositionIds {
  readonly axes: number;
  readonly length: number;
  readonly data: Int32Array;
}

/** An image inside a prepared prompt. */
export interface PromptImage {
  readonly image: EncodedImage;
  /** Index of the image's first token in the prompt sequence (and in the KV cache). */
  readonly start: number;
  /** A region of an image written with the region syntax, not a whole image (never the query image). */
  readonly region?: boolean;
}

/** A tokenized prompt with its images encoded and its positions computed, ready to prefill. */
export interface PreparedPrompt {
  readonly segments: readonly InputSegment[];
  readonly positions: PositionIds;
  /** Number of input tokens (text and image tokens). */
  readonly length: number;
  /** Position id the first generated token gets. */
  readonly nextPosition: number;
  /** Images in prompt order; the last one is the query image ICoT selects from. */
  readonly images: readonly PromptImage[];
  /** Text token ids of the prompt (image tokens excluded), e.g. for repetition penalties. */
  readonly textTokenIds: readonly number[];
}

/** One chat message; `content` parts of type `image` mark where images go. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string | readonly ({ readonly type: 'text'; readonly text: string } | { readonly type: 'image' })[];
}

/** What to prefill: a chat to format with the model's template, or an already formatted prompt. */
export type PromptInput =
  | { readonly messages: readonly ChatMessage[]; readonly images: readonly EncodedImage[] }
  | {
      /** Chat-formatted text with one image placeholder (the family's `imagePlaceholder`) per image. */
      readonly text: string;
      readonly images: readonly EncodedImage[];
    };

/** Tokenizer of a model. */
export interface TokenizerV1 {
  /** Token ids of `text`; special tokens written in the text are recognised. */
  encode(text: string): number[];
  /** Text of `ids`; special tokens are kept unless `skipSpecialTokens`. */
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** Id of a token by its exact vocabulary string, or undefined. */
  tokenToId(token: string): number | undefined;
}

/** Input of one decoding step. */
export interface StepInput {
  readonly segments: readonly InputSegment[];
  readonly positions: PositionIds;
  /** Ask for the attention row of the last input position. */
  readonly attention?: boolean;
  readonly signal?: AbortSignal;
}

/** Output of one decoding step. */
export interface StepOutput {
  /** Next-token logits after the last input position (length = vocabulary size). */
  readonly logits: Float32Array;
  /**
   * Attention of the last input position over the whole cache (length = cache length after the
   * step), averaged over the backend's attention layers and all heads. Present when asked for.
   */
  readonly attention?: Float32Array;
}

/**
 * Direct access to a session's KV cache, for decoders that insert cache entries instead of
 * inputs. Keys are stored after rotary embedding (as every RoPE model caches them).
 */
export interface KvCacheV1 {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /**
   * Append copies of the entries at cache indices `sources` (all layers, keys and values) to the
   * end of the cache. `transformKeys(layer, keys)` may rewrite the copied keys in place first;
   * `keys` holds them head-major: `keys[(head * sources.length + i) * headDim + d]`.
   */
  appendCopies(sources: readonly number[], transformKeys?: (layer: number, keys: Float32Array) => void): void;
}

/** How a model rotates queries and keys (rotary position embedding), read from its config. */
export interface RopeDescriptionV1 {
  /** Base of the rotary frequencies. */
  readonly theta: number;
  readonly headDim: number;
  /** Leading dimensions of each head that are rotated (headDim unless partial rotary). */
  readonly rotaryDim: number;
  /**
   * Multimodal RoPE: how many of the rotaryDim/2 frequencies follow each position axis
   * (temporal, height, width); absent for 1-D RoPE.
   */
  readonly mropeSection?: readonly number[];
  /** Pairs are (x[i], x[i + rotaryDim/2]) (`rotate_half`, the Hugging Face layout). */
  readonly layout: 'half';
}

/** A decoding session: one KV cache that grows with every step. */
export interface DecodingSessionV1 {
  /** Number of positions in the KV cache. */
  readonly length: number;
  /** Direct cache access, where the backend offers it (see {@link ModelCapabilities.kvCache}). */
  readonly kvCache?: KvCacheV1;
  /** Feed inputs, extend the cache, return the next-token logits (and attention if asked). */
  step(input: StepInput): Promise<StepOutput>;
  /** Release the cache. */
  dispose(): void;
}

/** What a model can do, stated explicitly rather than discovered by failure. */
export interface ModelCapabilities {
  /** Whether {@link StepInput.attention} can be honoured. */
  readonly attention: boolean;
  /** Why attention is unavailable, and what to do about it (when `attention` is false). */
  readonly attentionUnavailableReason?: string;
  /** Whether sessions expose {@link DecodingSessionV1.kvCache}. */
  readonly kvCache?: boolean;
}

/**
 * A vision-language model driven step by step (specification v1). Implemented by backends
 * (ONNX Runtime, transformers.js, ...); consumed by the ICoT loop, selectors and decoders.
 */
export interface VisionLanguageModelV1 {
  readonly specificationVersion: 'v1';
  /** Backend name, e.g. `onnx`. */
  readonly provider: string;
  /** Model id or folder. */
  readonly modelId: string;
  readonly family: ModelFamilyV1;
  readonly capabilities: ModelCapabilities;
  /** Rotary embedding of the decoder, when it uses one (needed to re-bind copied keys). */
  readonly rope?: RopeDescriptionV1;
  readonly tokenizer: TokenizerV1;
  readonly vocabSize: number;
  /** Token ids that end generation. */
  readonly eosTokenIds: readonly number[];
  /** Run the vision front end on an image. */
  encodeImage(image: RgbImage, options?: { signal?: AbortSignal }): Promise<EncodedImage>;
  /** Tokenize a prompt, expand its image placeholders and compute positions. */
  preparePrompt(input: PromptInput): Promise<PreparedPrompt>;
  /** Start a decoding session with an empty KV cache. */
  createSession(): DecodingSessionV1;
  /** Release native resources. */
  dispose(): Promise<void>;
}
