import type { EncodedImage } from './model.js';
import type { Random } from '../random.js';

/** What a selector sees when asked for patches. */
export interface SelectionRequest {
  /**
   * Attention mass of the signal token on each patch of the query image (length = patchCount).
   * Absent when the run has no attention (selectors with `requiresAttention: false`).
   */
  readonly scores?: Float32Array;
  readonly image: EncodedImage;
  /** Number of patches to select. */
  readonly k: number;
  /** Patches that must not be chosen (earlier picks, when exclusion is on). */
  readonly exclude: ReadonlySet<number>;
  /** Generation step of the signal token (-1 for an insertion right after the prompt). */
  readonly step: number;
  /** Text of the reasoning step that just ended. */
  readonly stepText: string;
  /** Seeded random source of the run. */
  readonly random: Random;
  readonly signal?: AbortSignal;
}

/** Chosen patches of the query image. */
export interface PatchSelection {
  /** Patch indices, ascending (raster order of the image tokens). */
  readonly indices: readonly number[];
}

/** Chooses which image patches to feed back in (specification v1). */
export interface PatchSelectorV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Whether {@link SelectionRequest.scores} must be present. */
  readonly requiresAttention: boolean;
  select(request: SelectionRequest): PatchSelection | Promise<PatchSelection>;
}
