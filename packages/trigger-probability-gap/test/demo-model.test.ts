import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateICoT, type EncodedImage, type ICoTResult, type TriggerContext, type TriggerRun, type TriggerV2, type VisionLanguageModelV2 } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { demoModel } from '@icot/demo-model';
import { createProbabilityGapTrigger, PROBABILITY_GAP_DEMO_SETTINGS } from '../src/index.js';

/** A trigger that records every context `inner` saw and its answer. */
function recording(inner: TriggerV2): { trigger: TriggerV2; seen: { context: TriggerContext; fired: boolean }[] } {
  const seen: { context: TriggerContext; fired: boolean }[] = [];
  return {
    seen,
    trigger: {
      ...inner,
      start(): TriggerRun {
        const run = inner.start();
        return {
          onToken(context) {
            const fired = run.onToken(context);
            seen.push({ context, fired });
            return fired;
          },
        };
      },
    },
  };
}

describe('probability-gap on the embedded demo model (ONNX backend, ADS, input insertion, greedy)', () => {
  let model: VisionLanguageModelV2;
  let image: EncodedImage;
  beforeAll(async () => {
    model = await loadOnnxModel(demoModel.dir);
    image = await model.encodeImage(await readImageFile(demoModel.image));
  });
  afterAll(() => model?.dispose());

  const run = async (): Promise<{ result: ICoTResult; seen: { context: TriggerContext; fired: boolean }[] }> => {
    const { trigger, seen } = recording(createProbabilityGapTrigger(PROBABILITY_GAP_DEMO_SETTINGS));
    const result = await generateICoT({
      model,
      prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger,
      maxNewTokens: 128,
    });
    return { result, seen };
  };

  it("ends the demo's sentences at the demo model's signal token", () => {
    expect(PROBABILITY_GAP_DEMO_SETTINGS.sentenceEnd.tokenIds).toEqual(demoModel.signalTokenIds);
  });

  it('fires with the demo settings, exactly where the definition says, and the same way twice', async () => {
    const first = await run();
    const second = await run();
    const { result, seen } = first;
    expect(result.insertions.length).toBeGreaterThanOrEqual(1);
    for (const insertion of result.insertions) expect(insertion.selector).toBe(createAdsSelector().name);
    expect(second.result.tokens).toEqual(result.tokens);
    expect(second.result.insertions.map((i) => [i.step, i.selected])).toEqual(result.insertions.map((i) => [i.step, i.selected]));
    expect(second.seen.map((s) => s.fired)).toEqual(seen.map((s) => s.fired));

    // the definition, token by token: at a sentence end (the signal token), the mean gap of the
    // sentence's tokens below the threshold, at least 16 tokens before the first insertion and between insertions
    const { threshold, sentenceEnd, minTokensBeforeFirst, minTokensBetween } = PROBABILITY_GAP_DEMO_SETTINGS;
    const insertedAfter = new Set(result.insertions.map((i) => i.step));
    let lastInsertion: number | undefined;
    let gaps: number[] = [];
    for (const { context, fired } of seen) {
      const gap = context.signals.probabilityGap;
      expect(gap, `step ${context.step}: the probability gap signal`).toBeTypeOf('number');
      gaps.push(gap!);
      let expected = false;
      if ((sentenceEnd.tokenIds as readonly number[]).includes(context.token)) {
        const spaced = lastInsertion === undefined ? context.step + 1 >= minTokensBeforeFirst : context.step - lastInsertion >= minTokensBetween;
        expected = spaced && gaps.reduce((a, b) => a + b, 0) / gaps.length < threshold;
        gaps = [];
      }
      expect(fired, `step ${context.step}`).toBe(expected);
      if (insertedAfter.has(context.step)) lastInsertion = context.step;
    }
  });
});
