import { describe, expect, it } from 'vitest';
import {
  IcotError,
  gatherPositions,
  type DecodingSessionV2,
  type EncodedImage,
  type InsertionDecoderV2,
  type PreparedPrompt,
  type RgbImage,
  type StepInput,
  type VisionLanguageModelV2,
} from '@icot/core';
import { firstLogitDifference, toleranceOf, type ConformanceDtype } from './conformance.js';

/** How the decoder suite gets a model to insert into. */
export interface DecoderConformanceSetup {
  readonly model: VisionLanguageModelV2;
  readonly image: RgbImage;
  /** A prompt with exactly one image placeholder. */
  readonly promptText: string;
}

/**
 * How a decoder's result relates to input-end insertion of the same patches on the setup's model
 * (the family's insertion block fed as one step, in the decoder's layout):
 * - `equal`: the logits after the block and after one more token equal input insertion's, within
 *   the dtype's tolerance (input insertion itself; kv-rebind on a one-layer model whose block
 *   has framing tokens, e.g. Qwen2-VL's `<|vision_start|>` / `<|vision_end|>`);
 * - `equal-after-next-token`: only the logits after one more token do (kv-rebind on a one-layer
 *   model whose block is only patches, e.g. LLaVA: it feeds nothing, so its own result is the
 *   logits before the block);
 * - `different`: the logits after one more token differ by more than the tolerance (kv-copy,
 *   whose copies keep their old positions; kv-rebind on deeper models, whose copies carry
 *   another layer's context).
 */
export type InputInsertionRelation = 'equal' | 'equal-after-next-token' | 'different';

/** What a decoder declares to the conformance suite (each flag selects tests either way, never a skip). */
export interface DecoderConformanceCapabilities {
  /**
   * The decoder needs the session's KV cache (`session.kvCache`): the suite checks that it fails
   * with an `IcotError` on a session without one; otherwise that it works without one.
   */
  readonly kvCache: boolean;
  /** Its result against input-end insertion on the setup's model (see {@link InputInsertionRelation}). */
  readonly inputInsertion: InputInsertionRelation;
  /** Precision of the setup's model (default `fp32`): the tolerance of the comparison with input insertion, see {@link CONFORMANCE_TOLERANCES}. */
  readonly dtype?: ConformanceDtype;
}

/** A view of `session` without KV cache access. */
function withoutKvCache(session: DecodingSessionV2): DecodingSessionV2 {
  return {
    get length() {
      return session.length;
    },
    step: (input: StepInput) => session.step(input),
    dispose: () => session.dispose(),
  };
}

/**
 * Behavioural conformance suite of {@link InsertionDecoderV2}: an insertion extends the cache,
 * moves positions forward, gives next-token logits, is deterministic, needs KV cache access or
 * not as declared, and relates to input-end insertion as declared. It compares logits in one
 * pass without copies, so it runs at real vocabulary sizes (151,936). `setup` is called once per
 * suite; the caller owns (and disposes) the model.
 */
export function describeDecoderConformance(
  name: string,
  create: () => InsertionDecoderV2,
  setup: () => Promise<DecoderConformanceSetup>,
  capabilities: DecoderConformanceCapabilities,
): void {
  const tolerance = toleranceOf(capabilities.dtype).logits;
  describe(`InsertionDecoderV2 conformance: ${name}`, () => {
    let ready: Promise<DecoderConformanceSetup> | undefined;
    /** A session prefilled with the prompt. */
    const start = async () => {
      const s = await (ready ??= setup());
      const image = await s.model.encodeImage(s.image);
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const session = s.model.createSession();
      const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
      return { model: s.model, image, prompt, session, first };
    };
    /** Logits after one more token (id 0) at `position`, and the session's length before it. */
    const continueAt = async (model: VisionLanguageModelV2, session: DecodingSessionV2, position: number) => {
      const after = session.length;
      const next = await session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: model.family.textPositions(position, 1) });
      session.dispose();
      return { after, next: next.logits };
    };
    const insertOnce = async (patches: readonly number[], options: { hideKvCache?: boolean } = {}) => {
      const { model, image, prompt, session, first } = await start();
      const before = session.length;
      const result = await create()
        .insert({
          model,
          session: options.hideKvCache ? withoutKvCache(session) : session,
          image,
          cacheIndices: prompt.images[0]!.cacheIndices,
          imagePositions: gatherPositions(prompt.positions, prompt.images[0]!.cacheIndices),
          patches,
          position: prompt.nextPosition,
          logits: first.logits,
        })
        .catch((error: unknown) => {
          session.dispose();
          throw error;
        });
      const { after, next } = await continueAt(model, session, result.nextPosition);
      return { result, before, after, next, prompt, image, model };
    };
    /** Input-end insertion of `patches`, computed here: the family's block fed as one step. */
    const inputInsertion = async (patches: readonly number[], layout: InsertionDecoderV2['layout']) => {
      const { model, image, prompt, session }: { model: VisionLanguageModelV2; image: EncodedImage; prompt: PreparedPrompt; session: DecodingSessionV2 } = await start();
      const block = model.family.insertionBlock({ image, patches, start: prompt.nextPosition, layout });
      const out = await session.step({ segments: block.segments, positions: block.positions });
      const { after, next } = await continueAt(model, session, block.nextPosition);
      return { logits: out.logits, after, next };
    };

    it('declares the v2 specification, a layout and what it requires', () => {
      const decoder = create();
      expect(decoder.specificationVersion).toBe('v2');
      expect(['grid', 'source']).toContain(decoder.layout);
      expect(decoder.requires.kvCache).toBe(capabilities.kvCache);
    });

    it('extends the cache by the inserted tokens and moves positions forward', async () => {
      const { result, before, after, prompt, model } = await insertOnce([0, 2, 3]);
      expect(result.insertedTokens).toBeGreaterThanOrEqual(3);
      expect(after - before).toBe(result.insertedTokens);
      expect(result.nextPosition).toBeGreaterThan(prompt.nextPosition);
      expect(result.logits.length).toBeGreaterThanOrEqual(model.vocabSize);
      let firstNonFinite = -1;
      for (let i = 0; i < model.vocabSize && firstNonFinite < 0; i++) if (!Number.isFinite(result.logits[i])) firstNonFinite = i;
      expect(firstNonFinite).toBe(-1);
    });

    it('is deterministic', async () => {
      const a = await insertOnce([1, 4]);
      const b = await insertOnce([1, 4]);
      expect(firstLogitDifference(a.result.logits, b.result.logits, a.model.vocabSize, 0)).toBeUndefined();
      expect(firstLogitDifference(a.next, b.next, a.model.vocabSize, 0)).toBeUndefined();
    });

    it('changes what follows depending on which patches are inserted', async () => {
      const a = await insertOnce([0, 1]);
      const b = await insertOnce([a.image.patchCount - 2, a.image.patchCount - 1]);
      expect(firstLogitDifference(a.next, b.next, a.model.vocabSize, 0)).toBeDefined();
    });

    if (capabilities.kvCache)
      it('needs KV cache access: fails with an IcotError on a session without it', async () => {
        const error = await insertOnce([0, 1], { hideKvCache: true }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(IcotError.is(error)).toBe(true);
        expect((error as IcotError).hint).toBeTruthy();
      });
    else
      it('needs no KV cache access: inserts through a session without it', async () => {
        const { result, before, after, model } = await insertOnce([0, 1], { hideKvCache: true });
        expect(after - before).toBe(result.insertedTokens);
        expect(result.logits.length).toBeGreaterThanOrEqual(model.vocabSize);
      });

    const relation = capabilities.inputInsertion;
    it(
      relation === 'different'
        ? `differs from input-end insertion of the same patches (by more than ${tolerance})`
        : `gives the logits of input-end insertion of the same patches${relation === 'equal' ? '' : ' after the next token'} (${capabilities.dtype ?? 'fp32'}: ${tolerance} x max(1, |logit|))`,
      async () => {
        const patches = [1, 4, 5];
        const ours = await insertOnce(patches);
        const input = await inputInsertion(patches, create().layout);
        const vocab = ours.model.vocabSize;
        const next = firstLogitDifference(ours.next, input.next, vocab, tolerance);
        if (relation === 'different') {
          expect(next).toBeDefined();
          return;
        }
        expect(ours.after).toBe(input.after);
        expect(next).toBeUndefined();
        if (relation === 'equal') expect(firstLogitDifference(ours.result.logits, input.logits, vocab, tolerance)).toBeUndefined();
      },
    );
  });
}
