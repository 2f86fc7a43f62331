import { IcotError, type EncodedImage, type InputSegment } from '@icot/core';
import type { SegmentEncoder } from './decoding-session.js';
import { floatTensor, type TensorFactory } from './tensors.js';

/** Settings of {@link embeddingsSegmentEncoder}. */
export interface EmbeddingsEncoderSettings {
  readonly hidden: number;
  /** Element type of the decoder's `inputs_embeds` (float32 or float16). */
  readonly inputType: string;
  /** Token embeddings of `ids`, `[ids.length, hidden]` row-major. */
  embedTokens(ids: readonly number[]): Promise<Float32Array>;
  readonly tensors: TensorFactory;
  /**
   * The feature rows of an image this model encoded (`[patchCount, hidden]` row-major, patch
   * order), or undefined for an image it did not encode.
   */
  featuresOf(image: EncodedImage): Float32Array | undefined;
}

/**
 * The decoder input of a step for models that take embeddings: token embeddings (one call for all
 * tokens of the step) and image feature rows, in segment order.
 */
export function embeddingsSegmentEncoder(settings: EmbeddingsEncoderSettings): SegmentEncoder {
  const { hidden } = settings;
  return async (segments: readonly InputSegment[], length: number) => {
    const ids: number[] = [];
    for (const s of segments) if (s.type === 'tokens') ids.push(...s.ids);
    const tokenEmbeds = ids.length ? await settings.embedTokens(ids) : undefined;
    const embeds = new Float32Array(length * hidden);
    let row = 0;
    let t = 0;
    for (const s of segments) {
      if (s.type === 'tokens') {
        embeds.set(tokenEmbeds!.subarray(t * hidden, (t + s.ids.length) * hidden), row * hidden);
        t += s.ids.length;
        row += s.ids.length;
        continue;
      }
      const features = settings.featuresOf(s.image);
      if (!features || features.length !== s.image.patchCount * hidden)
        throw new IcotError('internal', 'The image segment was not encoded by this model; use model.encodeImage().');
      if (s.patches) for (const p of s.patches) embeds.set(features.subarray(p * hidden, (p + 1) * hidden), (row++) * hidden);
      else {
        embeds.set(features, row * hidden);
        row += s.image.patchCount;
      }
    }
    return floatTensor(settings.tensors, settings.inputType, embeds, [1, length, hidden]);
  };
}
