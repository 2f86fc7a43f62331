import { describe, expect, it } from 'vitest';
import { slicePositions, type InsertionDecoderV1, type RgbImage, type VisionLanguageModelV1 } from '@icot/core';

/** How the decoder suite gets a model to insert into. */
export interface DecoderConformanceSetup {
  readonly model: VisionLanguageModelV1;
  readonly image: RgbImage;
  /** A prompt with exactly one image placeholder. */
  readonly promptText: string;
}

/**
 * Behavioural conformance suite of {@link InsertionDecoderV1}: an insertion extends the cache,
 * moves positions forward, gives next-token logits and is deterministic.
 */
export function describeDecoderConformance(name: string, create: () => InsertionDecoderV1, setup: () => Promise<DecoderConformanceSetup>): void {
  describe(`InsertionDecoderV1 conformance: ${name}`, () => {
    const insertOnce = async (patches: readonly number[]) => {
      const s = await setup();
      const image = await s.model.encodeImage(s.image);
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const session = s.model.createSession();
      const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
      const before = session.length;
      const result = await create().insert({
        model: s.model,
        session,
        image,
        imageStart: prompt.images[0]!.start,
        imagePositions: slicePositions(prompt.positions, prompt.images[0]!.start, prompt.images[0]!.start + image.patchCount),
        patches,
        position: prompt.nextPosition,
        logits: first.logits,
      });
      const after = session.length;
      // decoding continues after the block
      const next = await session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: s.model.family.textPositions(result.nextPosition, 1) });
      session.dispose();
      return { result, before, after, next, prompt, image, model: s.model };
    };

    it('declares the v1 specification and a layout', () => {
      const decoder = create();
      expect(decoder.specificationVersion).toBe('v1');
      expect(['grid', 'source']).toContain(decoder.layout);
    });

    it('extends the cache by the inserted tokens and moves positions forward', async () => {
      const { result, before, after, prompt, model } = await insertOnce([0, 2, 3]);
      expect(result.insertedTokens).toBeGreaterThanOrEqual(3);
      expect(after - before).toBe(result.insertedTokens);
      expect(result.nextPosition).toBeGreaterThan(prompt.nextPosition);
      expect(result.logits.length).toBeGreaterThanOrEqual(model.vocabSize);
      for (let i = 0; i < model.vocabSize; i++) expect(Number.isFinite(result.logits[i])).toBe(true);
    });

    it('is deterministic', async () => {
      const a = await insertOnce([1, 4]);
      const b = await insertOnce([1, 4]);
      expect(Array.from(a.result.logits)).toEqual(Array.from(b.result.logits));
      expect(Array.from(a.next.logits)).toEqual(Array.from(b.next.logits));
    });

    it('changes what follows depending on which patches are inserted', async () => {
      const a = await insertOnce([0, 1]);
      const b = await insertOnce([a.image.patchCount - 2, a.image.patchCount - 1]);
      expect(Array.from(a.next.logits)).not.toEqual(Array.from(b.next.logits));
    });
  });
}
