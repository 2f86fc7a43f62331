import type { EncodedImage, GroundedBox, RgbImage, SideRunContext } from '@icot/core';

/** What a grounder is asked: boxes for each text, in the query image. */
export interface GroundingRequest {
  /** The texts to ground (the step, or its noun phrases); at least one, none empty. */
  readonly texts: readonly string[];
  /** The query image (its size, grid and patch boxes). */
  readonly image: EncodedImage;
  /** The query image's pixels (present when the grounder requires them). */
  readonly pixels?: RgbImage;
  /** Side runs from the current decoding state (present when the grounder requires `fork`). */
  readonly sideRuns?: SideRunContext;
  readonly signal?: AbortSignal;
}

/** What a grounder found. */
export interface GroundingResult {
  /** Boxes in original-image pixels, each with the text it grounds (and a score when the grounder gives one). */
  readonly boxes: readonly GroundedBox[];
  /** Why there is no box (when `boxes` is empty), in a sentence: becomes the fallback's reason. */
  readonly failure?: string;
  /** Which variant ran (e.g. `vlm: qwen2-vl box tokens, constrained decoding`), recorded on the insertion. */
  readonly variant: string;
}

/**
 * Turns texts into boxes on the query image: the VLM itself in a side run, or an open-vocabulary
 * detector. An answer without a usable box is a result with no boxes and a `failure` (the selector
 * then falls back to ADS and says why); only bad settings and broken models throw.
 */
export interface Grounder {
  /** Short name (e.g. `vlm`, `detector`). */
  readonly name: string;
  /** What the grounder needs from the selection context. */
  readonly requires: { readonly fork?: boolean; readonly pixels?: boolean };
  ground(request: GroundingRequest): Promise<GroundingResult>;
  /** Release what the grounder loaded (a detector's sessions); calling it again does nothing. */
  dispose?(): Promise<void>;
}
