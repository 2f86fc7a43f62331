import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateICoT, type EncodedImage, type ICoTResult, type TriggerContext, type TriggerRun, type TriggerV2, type VisionLanguageModelV2 } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { demoModel } from '@icot/demo-model';
import { ATTENTION_SHIFT_DEMO_SETTINGS, createAttentionShiftTrigger } from '../src/index.js';

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

describe('attention-shift on the embedded demo model (ONNX backend, ADS, input insertion, greedy)', () => {
  let model: VisionLanguageModelV2;
  let image: EncodedImage;
  beforeAll(async () => {
    model = await loadOnnxModel(demoModel.dir);
    image = await model.encodeImage(await readImageFile(demoModel.image));
  });
  afterAll(() => model?.dispose());

  const run = async (): Promise<{ result: ICoTResult; seen: { context: TriggerContext; fired: boolean }[] }> => {
    const { trigger, seen } = recording(createAttentionShiftTrigger(ATTENTION_SHIFT_DEMO_SETTINGS));
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

  it('fires with the demo settings, exactly where the definition says, and the same way twice', async () => {
    const first = await run();
    const second = await run();
    const { result, seen } = first;
    expect(result.insertions.length).toBeGreaterThanOrEqual(1);
    for (const insertion of result.insertions) expect(insertion.selector).toBe(createAdsSelector().name);
    // deterministic: the same tokens, insertions and decisions
    expect(second.result.tokens).toEqual(result.tokens);
    expect(second.result.insertions.map((i) => [i.step, i.selected])).toEqual(result.insertions.map((i) => [i.step, i.selected]));
    expect(second.seen.map((s) => s.fired)).toEqual(seen.map((s) => s.fired));

    // the definition, step by step: a rise of more than delta over the previous token's attention,
    // at least 16 tokens before the first insertion and between insertions
    const { delta, minTokensBeforeFirst, minTokensBetween } = ATTENTION_SHIFT_DEMO_SETTINGS;
    const insertedAfter = new Set(result.insertions.map((i) => i.step));
    let lastInsertion: number | undefined;
    let previous: number | undefined;
    for (const { context, fired } of seen) {
      const now = context.signals.imageAttention;
      expect(now, `step ${context.step}: the image attention signal`).toBeTypeOf('number');
      const spaced = lastInsertion === undefined ? context.step + 1 >= minTokensBeforeFirst : context.step - lastInsertion >= minTokensBetween;
      const expected = spaced && previous !== undefined && now! - previous > delta;
      expect(fired, `step ${context.step}: attention ${previous} -> ${now}`).toBe(expected);
      previous = now;
      if (insertedAfter.has(context.step)) lastInsertion = context.step;
    }
  });
});
