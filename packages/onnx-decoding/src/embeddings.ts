import { IcotError, type InputSegment } from '@icot/core';
import { FeatureImage } from '@icot/families';
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
      const image = s.image;
      if (!(image instanceof FeatureImage) || image.hidden !== hidden)
        throw new IcotError('internal', 'The image segment was not encoded by this model; use model.encodeImage().');
      if (s.patches) for (const p of s.patches) embeds.set(image.features.subarray(p * hidden, (p + 1) * hidden), (row++) * hidden);
      else {
        embeds.set(image.features, row * hidden);
        row += image.patchCount;
      }
    }
    return floatTensor(settings.tensors, settings.inputType, embeds, [1, length, hidden]);
  };
}
