import type { Box, DecodingSessionV2, EncodedImage, PositionIds, RgbImage, StepInput, StepOutput, VisionLanguageModelV2 } from './model.js';
import type { Random } from '../random.js';

/**
 * Side runs from the decoding state at the moment of selection, for selectors that probe the
 * model (information-gain probing: "what would the next-token entropy be if this region were
 * inserted?"; self-grounding: a short side generation). Nothing done here changes the main run.
 */
export interface SideRunContext {
  readonly model: VisionLanguageModelV2;
  /**
   * A fork of the decoding session as it stands (the signal token fed, nothing inserted yet): its
   * steps never change the main cache. Dispose it when done (the loop disposes forks a selector
   * leaves open). Needs the `fork` requirement; throws `CapabilityError` on a model without it.
   */
  fork(): DecodingSessionV2;
  /**
   * Feed each input as its own continuation of the current state in one batched forward pass and
   * return each output (the main cache is unchanged; inputs of equal length). Needs the
   * `batchedSideRuns` requirement; throws `CapabilityError` on a model without it.
   */
  sideRuns(inputs: readonly StepInput[]): Promise<readonly StepOutput[]>;
  /** Position id the next input gets (where an insertion made now would start). */
  readonly position: number;
  /** Next-token logits as they stand (before any insertion). */
  readonly logits: Float32Array;
  /** Position ids the query image's patches had in the prompt (patch order). */
  readonly imagePositions: PositionIds;
}

/** What a selector sees when asked for patches: the selection context. */
export interface SelectionRequest {
  /**
   * Attention mass of the signal token on each patch of the query image (length = patchCount,
   * read through the image's patch map). Present when the selector requires attention.
   */
  readonly scores?: Float32Array;
  /** The query image (its grid or tiles, and each patch's box in the original image). */
  readonly image: EncodedImage;
  /** The query image's patch map: KV-cache index of each patch. */
  readonly cacheIndices: Int32Array;
  /** The query image's decoded pixels. Present when the selector requires pixels. */
  readonly pixels?: RgbImage;
  /** Number of patches to select. */
  readonly k: number;
  /** Patches that must not be chosen (earlier picks, when exclusion is on). */
  readonly exclude: ReadonlySet<number>;
  /** Generation step of the signal token (-1 for an insertion right after the prompt). */
  readonly step: number;
  /** Text of the reasoning step that just ended (the text generated since the last insertion). */
  readonly stepText: string;
  /** Side runs from the current decoding state. Present when the selector requires `fork` or `batchedSideRuns`. */
  readonly sideRuns?: SideRunContext;
  /** Seeded random source of the run. */
  readonly random: Random;
  readonly signal?: AbortSignal;
}

/** Another strategy chose instead of the one asked for (e.g. grounding found no box, so ADS chose). */
export interface SelectionFallback {
  /** Name of the strategy that chose (e.g. `ads`). */
  readonly selector: string;
  /** Why, in a sentence (e.g. `the grounder's answer held no box`). */
  readonly reason: string;
}

/** Chosen patches of the query image. */
export interface PatchSelection {
  /** Patch indices, ascending. */
  readonly indices: readonly number[];
  /** Set when another strategy chose instead of this one, and why. Recorded on the insertion. */
  readonly fallback?: SelectionFallback;
  /** Which variant of the strategy ran (e.g. `context-enhanced attention`), recorded on the insertion. */
  readonly variant?: string;
  /** Regions chosen whole (segmentation), each as its patch indices, for reports. */
  readonly regions?: readonly (readonly number[])[];
  /** Boxes the strategy located (grounding), in original-image pixels, with the text they ground. */
  readonly groundedBoxes?: readonly GroundedBox[];
}

/** A box a grounding strategy located for a piece of the step's text. */
export interface GroundedBox extends Box {
  /** The text it grounds (the step, or one of its noun phrases). */
  readonly text: string;
  /** The grounder's confidence in [0, 1], when it gives one. */
  readonly score?: number;
}

/**
 * What a selector needs; the ICoT loop checks each against the model's capabilities before a run
 * and fails with a typed error naming the missing one.
 */
export interface SelectorRequirements {
  /** The signal token's attention on the query image ({@link SelectionRequest.scores}). */
  readonly attention: boolean;
  /** The query image's pixels ({@link SelectionRequest.pixels}). */
  readonly pixels?: boolean;
  /** Forks of the decoding session ({@link SideRunContext.fork}). */
  readonly fork?: boolean;
  /** Batched side runs ({@link SideRunContext.sideRuns}). */
  readonly batchedSideRuns?: boolean;
}

/** Chooses which image patches to feed back in (specification v2). */
export interface PatchSelectorV2 {
  readonly specificationVersion: 'v2';
  readonly name: string;
  readonly requires: SelectorRequirements;
  select(request: SelectionRequest): PatchSelection | Promise<PatchSelection>;
}
