import type { PatchLayout } from './family.js';
import type { DecodingSessionV1, EncodedImage, PositionIds, VisionLanguageModelV1 } from './model.js';

/** What an insertion decoder is asked to do. */
export interface InsertionRequest {
  readonly model: VisionLanguageModelV1;
  readonly session: DecodingSessionV1;
  readonly image: EncodedImage;
  /** Index of the image's first token in the KV cache. */
  readonly imageStart: number;
  /** Position ids the image's tokens had in the prompt (one per patch). */
  readonly imagePositions: PositionIds;
  /** Selected patch indices, ascending. */
  readonly patches: readonly number[];
  /** Position id where the block starts. */
  readonly position: number;
  /** Next-token logits before the insertion (what a decoder that feeds nothing returns). */
  readonly logits: Float32Array;
  /** Return the attention row of the block's last input too. */
  readonly attention?: boolean;
  readonly signal?: AbortSignal;
}

/** Result of an insertion. */
export interface InsertionResult {
  /** Next-token logits after the block. */
  readonly logits: Float32Array;
  readonly attention?: Float32Array;
  /** Position id of the first input after the block. */
  readonly nextPosition: number;
  /** Number of cache positions the block added. */
  readonly insertedTokens: number;
}

/** Feeds selected patches back into the model (specification v1). */
export interface InsertionDecoderV1 {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Layout of the inserted patches in position space. */
  readonly layout: PatchLayout;
  insert(request: InsertionRequest): Promise<InsertionResult>;
}
