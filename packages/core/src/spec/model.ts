import type { ModelFamilyV2 } from './family.js';

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

/** A grid of image tokens (after any patch merging): a whole image's, or one tile's. */
export interface PatchGrid {
  readonly rows: number;
  readonly cols: number;
}

/**
 * One tile of a tiled image (SmolVLM / Idefics3 and LLaVA-NeXT split an image into tiles plus a
 * downscaled global view): its own patch grid over one rectangle of the original image. The
 * tile's patches are `firstPatch .. firstPatch + grid.rows * grid.cols - 1`, in raster order of
 * `grid`.
 */
export interface ImageTile {
  readonly grid: PatchGrid;
  /** Index (in the image's patch list) of the tile's first patch. */
  readonly firstPatch: number;
  /** Pixel rectangle of the original image the tile covers (the whole image for the global view). */
  readonly box: Box;
  /** Where the tile sits in the tiling (0-based), or `global` for the downscaled view of the whole image. */
  readonly place: { readonly row: number; readonly col: number } | 'global';
}

/** Where one patch sits: its tile, and its row and column in that tile's grid. */
export interface PatchCell {
  /** Index into the image's tiles (0 for a single-grid image). */
  readonly tile: number;
  readonly row: number;
  readonly col: number;
}

/**
 * An image after the model's vision front end (encoder features or discrete image tokens).
 * Patches (image tokens) are numbered `0 .. patchCount - 1`: a single-grid image in raster order of
 * {@link EncodedImage.grid}; a tiled image tile after tile (see {@link EncodedImage.tiles}).
 * Backends attach their own payload; other packages only use the fields below.
 */
export interface EncodedImage {
  /**
   * Patch grid of a single-grid image (`patchCount === rows * cols`). For a tiled image, the grid
   * its local tiles form side by side (for summaries; patches are addressed through `tiles`).
   */
  readonly grid: PatchGrid;
  /** Number of patches (selectable image tokens), over all tiles. */
  readonly patchCount: number;
  /** The tiles of a tiled image, in patch order; absent for a single-grid image (one implicit tile: `grid`). */
  readonly tiles?: readonly ImageTile[];
  /** Size of the original image in pixels. */
  readonly size: { readonly width: number; readonly height: number };
  /**
   * The decoded image this was encoded from, for selectors that read pixels (grounding,
   * segmentation). Present when the model declares {@link ModelCapabilities.pixels}.
   */
  readonly pixels?: RgbImage;
  /** Pixel rectangle of patch `index` in the original image. */
  patchBox(index: number): Box;
  /**
   * The sub-image of grid rows `[rows[0], rows[1]]` and columns `[cols[0], cols[1]]` (inclusive),
   * for prompts that show a region of an image (e.g. in one-shot demonstrations). Single-grid images only.
   */
  crop?(rows: readonly [number, number], cols: readonly [number, number]): EncodedImage;
}

/**
 * A run of model input: text tokens, or image tokens (all patches of an image in patch order, or
 * the listed patches in the given order). Backends turn segments into embeddings or token ids.
 * A family lays a tiled image out as several image segments (one per tile) with its separator
 * tokens between them.
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

/**
 * An image inside a prepared prompt, with its patch map: patch `i` of `image` is the input at
 * KV-cache index `cacheIndices[i]`. A single-grid image is one contiguous run
 * (`start, start + 1, ...`); a tiled image's patches sit in several runs with the family's text
 * tokens between them. Every consumer (attention scores, KV copies, positions) goes through the map.
 */
export interface PromptImage {
  readonly image: EncodedImage;
  /** KV-cache index of each patch (length `image.patchCount`). */
  readonly cacheIndices: Int32Array;
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
  /** Images in prompt order; the last whole image is the query image ICoT selects from. */
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
  /** Ask for the attention row of the last input position, averaged over the model's attention layers. */
  readonly attention?: boolean;
  /**
   * Ask for the attention row of the last input position averaged over these decoder layers only
   * (e.g. the last 3, for an attention-shift trigger), from the same forward pass. Needs
   * {@link ModelCapabilities.layerAttention}; every layer must be in
   * {@link ModelCapabilities.attentionLayers}.
   */
  readonly layerAttention?: readonly number[];
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
  /** The same row averaged over {@link StepInput.layerAttention}'s layers. Present when asked for. */
  readonly layerAttention?: Float32Array;
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

/** A decoding session: one KV cache that grows with every step (specification v2). */
export interface DecodingSessionV2 {
  /** Number of positions in the KV cache. */
  readonly length: number;
  /** Direct cache access, where the backend offers it (see {@link ModelCapabilities.kvCache}). */
  readonly kvCache?: KvCacheV1;
  /** Feed inputs, extend the cache, return the next-token logits (and attention if asked). */
  step(input: StepInput): Promise<StepOutput>;
  /**
   * A new session that starts from this one's cache as it stands and then goes its own way: steps
   * on either never change the other (side runs, e.g. "what would the model say if this region
   * were inserted?"). Costs no copy where the runtime returns new cache tensors each step; each
   * session is disposed on its own. Present when the model declares {@link ModelCapabilities.fork}.
   */
  fork?(): DecodingSessionV2;
  /**
   * Feed each input as its own continuation of the cache as it stands, in one batched forward
   * pass (the cache is copied once per batch row: the one place a copy is allowed), and return
   * each continuation's output in order. The session's cache is not changed. All inputs must have
   * the same length. Present when the model declares {@link ModelCapabilities.batchedSideRuns}.
   */
  sideRuns?(inputs: readonly StepInput[]): Promise<readonly StepOutput[]>;
  /** Release the cache (forks made from it stay usable); calling it again does nothing. */
  dispose(): void;
}

/**
 * What a model can do, stated explicitly rather than discovered by failure. Strategies declare
 * what they need; the ICoT loop refuses a run whose model lacks it with a `CapabilityError`
 * (`AttentionUnavailableError` for attention) naming the capability.
 */
export interface ModelCapabilities {
  /** Whether {@link StepInput.attention} can be honoured. */
  readonly attention: boolean;
  /** Why attention is unavailable, and what to do about it (when `attention` is false). */
  readonly attentionUnavailableReason?: string;
  /** Decoder layers whose attention the model reads (what `attention` averages); empty without attention. */
  readonly attentionLayers: readonly number[];
  /** Number of decoder layers (to resolve layer choices such as "the last 3"). */
  readonly decoderLayers: number;
  /** Whether {@link StepInput.layerAttention} can be honoured (per-step signals for triggers). */
  readonly layerAttention: boolean;
  /** Whether sessions expose {@link DecodingSessionV2.kvCache}. */
  readonly kvCache: boolean;
  /** Whether sessions have {@link DecodingSessionV2.fork}. */
  readonly fork: boolean;
  /** Whether sessions have {@link DecodingSessionV2.sideRuns}. */
  readonly batchedSideRuns: boolean;
  /** Whether encoded images carry the decoded image they came from ({@link EncodedImage.pixels}). */
  readonly pixels: boolean;
  /** Whether the model's images are tiled ({@link EncodedImage.tiles}: several grids, text between them). */
  readonly tiledImages: boolean;
}

/** Names of the capabilities a strategy can require. */
export type CapabilityName = 'attention' | 'layerAttention' | 'kvCache' | 'fork' | 'batchedSideRuns' | 'pixels';

/**
 * A vision-language model driven step by step (specification v2). Implemented by backends
 * (ONNX Runtime, transformers.js, ...); consumed by the ICoT loop, selectors and decoders.
 */
export interface VisionLanguageModelV2 {
  readonly specificationVersion: 'v2';
  /** Backend name, e.g. `onnx`. */
  readonly provider: string;
  /** Model id or folder. */
  readonly modelId: string;
  readonly family: ModelFamilyV2;
  readonly capabilities: ModelCapabilities;
  /** Rotary embedding of the decoder, when it uses one (needed to re-bind copied keys). */
  readonly rope?: RopeDescriptionV1;
  readonly tokenizer: TokenizerV1;
  readonly vocabSize: number;
  /**
   * Most positions the decoder's context holds: prompt, generated and inserted tokens together
   * (the KV-cache length), read from the model's config (`max_position_embeddings` of the text
   * model); undefined when the model states none. The ICoT loop never lets a run grow past it.
   */
  readonly maxContextTokens?: number;
  /** Token ids that end generation. */
  readonly eosTokenIds: readonly number[];
  /** Run the vision front end on an image. */
  encodeImage(image: RgbImage, options?: { signal?: AbortSignal }): Promise<EncodedImage>;
  /** Tokenize a prompt, expand its image placeholders and compute positions. */
  preparePrompt(input: PromptInput): Promise<PreparedPrompt>;
  /** Start a decoding session with an empty KV cache. */
  createSession(): DecodingSessionV2;
  /** Release native resources. */
  dispose(): Promise<void>;
}
