import type { EncodedImage, InputSegment, PositionIds, PromptImage } from './model.js';

/**
 * How inserted patches are laid out in position space.
 * - `grid`: the official ICoT layout, the k patches on a fixed ceil(sqrt(k)) square grid;
 * - `source`: each patch keeps its (row, col) relation from its tile's grid in the original image.
 */
export type PatchLayout = 'grid' | 'source';

/** Inputs and positions of one inserted block of patches. */
export interface InsertionBlock {
  readonly segments: readonly InputSegment[];
  readonly positions: PositionIds;
  /** Position id of the first input after the block. */
  readonly nextPosition: number;
}

/**
 * Official ICoT behaviours of a model family. The ICoT loop applies them (one place, for the
 * library, the runner and the CLI alike) unless a run overrides them explicitly.
 */
export interface FamilyDefaults {
  /** Patches per insertion (16 merged patches for Qwen2-VL, 64 VQ tokens for Chameleon). */
  readonly k: number;
  /** Insert a visual rationale right after the prompt, before any text. */
  readonly insertAfterPrompt: boolean;
  /** Exclude patches chosen by earlier insertions. */
  readonly excludeSelected: boolean;
}

/** What {@link ModelFamilyV2.expandPrompt} returns. */
export interface ExpandedPrompt {
  readonly segments: readonly InputSegment[];
  /** The images in prompt order, each with its patch map (cache index of every patch). */
  readonly images: readonly PromptImage[];
  readonly textTokenIds: readonly number[];
}

/**
 * Everything model-family specific that sits between the ICoT loop and a backend: how positions
 * run, which special tokens frame an image (or separate its tiles), how an inserted block is
 * built (specification v2). Written once per family and shared by all backends; pure logic, no
 * pixels.
 */
export interface ModelFamilyV2 {
  readonly specificationVersion: 'v2';
  /** Family name, e.g. `qwen2-vl`. */
  readonly name: string;
  /** Text that marks an image in a formatted prompt, e.g. `<|image_pad|>`. */
  readonly imagePlaceholder: string;
  /** Number of position axes (3 for M-RoPE, 1 otherwise). */
  readonly positionAxes: number;
  readonly defaults: FamilyDefaults;
  /**
   * Turn tokenized prompt text (with one placeholder id per image) into segments: framing tokens
   * around each image (and between its tiles) and the image tokens themselves, with each image's
   * patch map.
   */
  expandPrompt(tokenIds: readonly number[], images: readonly EncodedImage[]): ExpandedPrompt;
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
