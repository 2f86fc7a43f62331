import type { PatchLayout } from './family.js';
import type { DecodingSessionV2, EncodedImage, PositionIds, VisionLanguageModelV2 } from './model.js';

/** What an insertion decoder is asked to do. */
export interface InsertionRequest {
  readonly model: VisionLanguageModelV2;
  readonly session: DecodingSessionV2;
  /** The query image. */
  readonly image: EncodedImage;
  /** The query image's patch map: KV-cache index of each of its patches in the prompt. */
  readonly cacheIndices: Int32Array;
  /** Position ids each patch of the query image had in the prompt (one per patch, patch order). */
  readonly imagePositions: PositionIds;
  /** Selected patch indices, ascending. */
  readonly patches: readonly number[];
  /** Position id where the block starts. */
  readonly position: number;
  /** Next-token logits before the insertion (what a decoder that feeds nothing returns). */
  readonly logits: Float32Array;
  /** Return the attention row of the block's last input too. */
  readonly attention?: boolean;
  /** Return the block's last input's attention averaged over these layers too (see `StepInput.layerAttention`). */
  readonly layerAttention?: readonly number[];
  readonly signal?: AbortSignal;
}

/** Result of an insertion. */
export interface InsertionResult {
  /** Next-token logits after the block. */
  readonly logits: Float32Array;
  readonly attention?: Float32Array;
  readonly layerAttention?: Float32Array;
  /** Position id of the first input after the block. */
  readonly nextPosition: number;
  /** Number of cache positions the block added. */
  readonly insertedTokens: number;
}

/** What a decoder needs from the model, checked by the ICoT loop before a run. */
export interface DecoderRequirements {
  /** Direct KV-cache access (`session.kvCache`). */
  readonly kvCache: boolean;
}

/** Feeds selected patches back into the model (specification v2). */
export interface InsertionDecoderV2 {
  readonly specificationVersion: 'v2';
  readonly name: string;
  /** Layout of the inserted patches in position space. */
  readonly layout: PatchLayout;
  readonly requires: DecoderRequirements;
  insert(request: InsertionRequest): Promise<InsertionResult>;
}
