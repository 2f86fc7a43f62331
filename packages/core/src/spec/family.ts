import type { EncodedImage, InputSegment, PositionIds, PromptImage } from './model.js';

/**
 * How inserted patches are laid out in position space.
 * - `grid`: the official ICoT layout, the k patches on a fixed ceil(sqrt(k)) square grid;
 * - `source`: each patch keeps its (row, col) relation from the original image.
 */
export type PatchLayout = 'grid' | 'source';

/** Inputs and positions of one inserted block of patches. */
export interface InsertionBlock {
  readonly segments: readonly InputSegment[];
  readonly positions: PositionIds;
  /** Position id of the first input after the block. */
  readonly nextPosition: number;
}

/** Official ICoT behaviours of a model family, used as defaults. */
export interface FamilyDefaults {
  /** Patches per insertion (16 merged patches for Qwen2-VL, 64 VQ tokens for Chameleon). */
  readonly k: number;
  /** Insert a visual rationale right after the prompt, before any text. */
  readonly insertAfterPrompt: boolean;
  /** Exclude patches chosen by earlier insertions. */
  readonly excludeSelected: boolean;
}

/**
 * Everything model-family specific that sits between the ICoT loop and a backend: how positions
 * run, which special tokens frame an image, how an inserted block is built. Written once per
 * family and shared by all backends.
 */
export interface ModelFamilyV1 {
  readonly specificationVersion: 'v1';
  /** Family name, e.g. `qwen2-vl`. */
  readonly name: string;
  /** Text that marks an image in a formatted prompt, e.g. `<|image_pad|>`. */
  readonly imagePlaceholder: string;
  /** Number of position axes (3 for M-RoPE, 1 otherwise). */
  readonly positionAxes: number;
  readonly defaults: FamilyDefaults;
  /**
   * Turn tokenized prompt text (with one placeholder id per image) into segments: framing tokens
   * around each image and the image tokens themselves.
   */
  expandPrompt(tokenIds: readonly number[], images: readonly EncodedImage[]): {
    readonly segments: readonly InputSegment[];
    readonly images: readonly PromptImage[];
    readonly textTokenIds: readonly number[];
  };
  /** Positions of a prompt made of `segments`, starting at position 0. */
  promptPositions(segments: readonly InputSegment[]): { readonly positions: PositionIds; readonly nextPosition: number };
  /** Positions of `count` consecutive text tokens starting at `start`. */
  textPositions(start: number, count: number): PositionIds;
  /** The block that inserts `patches` of `image` at position `start`. */
  insertionBlock(request: {
    readonly image: EncodedImage;
    readonly patches: readonly number[];
    readonly start: number;
    readonly layout: PatchLayout;
  }): InsertionBlock;
  /** Token ids that must never be sampled as text (e.g. Chameleon's image tokens). */
  readonly suppressedTokenIds: readonly number[];
}
