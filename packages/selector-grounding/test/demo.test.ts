import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, type EncodedImage, type ICoTResult, type PatchSelectorV2 } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image/node';
import { createGroundingSelector, type GroundingSelectorOptions } from '../src/index.js';
import { replaySelector } from './helpers.js';

// The demo model: a tiny random-weight Qwen2-VL whose tokenizer has no Qwen box tokens, so the
// VLM grounder asks in the plain form ((x1,y1),(x2,y2), [0, 1000)) and, with the default
// constrained decoding, the model itself chooses every digit of the box.
describe('grounding on the embedded demo model', () => {
  let model: Awaited<ReturnType<typeof loadOnnxModel>>;
  let image: EncodedImage;
  beforeAll(async () => {
    model = await loadOnnxModel(demoModel.dir);
    image = await model.encodeImage(await readImageFile(demoModel.image));
  });
  afterAll(() => model?.dispose());

  const run = (selector: PatchSelectorV2): Promise<ICoTResult> =>
    generateICoT({
      model,
      prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
      selector,
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
      maxNewTokens: 128,
    });
  const grounding = (options: GroundingSelectorOptions = {}) => run(createGroundingSelector(options));

  it('chooses by grounding with no fallback (the defaults), the same in two runs', async () => {
    const [first, second] = [await grounding(), await grounding()];
    const grounded = first.insertions.filter((i) => i.selector === 'grounding' && i.fallback === undefined);
    expect(grounded.length).toBeGreaterThan(0);
    for (const insertion of grounded) {
      expect(insertion.variant).toBe('vlm: plain box text, constrained decoding; the step; top-k by overlap');
      expect(insertion.groundedBoxes?.length).toBe(1);
      const box = insertion.groundedBoxes![0]!;
      expect(box.width).toBeGreaterThan(0);
      expect(box.height).toBeGreaterThan(0);
      expect(box.x + box.width).toBeLessThanOrEqual(224);
      expect(box.y + box.height).toBeLessThanOrEqual(224);
      // at least one selected patch lies in the box
      expect(insertion.boxes.some((p) => p.x < box.x + box.width && box.x < p.x + p.width && p.y < box.y + box.height && box.y < p.y + p.height)).toBe(true);
      expect(insertion.selected).toHaveLength(16);
    }
    expect(second.tokens).toEqual(first.tokens);
    expect(second.insertions.map((i) => [i.selected, i.groundedBoxes, i.fallback])).toEqual(first.insertions.map((i) => [i.selected, i.groundedBoxes, i.fallback]));
  });

  it('leaves no trace of its side runs: replaying its choices without side runs gives the same answer', async () => {
    const grounded = await grounding();
    const replayed = await run(replaySelector(grounded.insertions.map((i) => i.selected)));
    expect(replayed.tokens).toEqual(grounded.tokens);
    expect(replayed.insertions.map((i) => i.step)).toEqual(grounded.insertions.map((i) => i.step));
  });

  it("with free decoding the random-weight model writes no box, and every insertion says ADS chose instead", async () => {
    const result = await grounding({ decoding: 'free' });
    expect(result.insertions.length).toBeGreaterThan(0);
    for (const insertion of result.insertions) {
      expect(insertion.fallback?.selector).toBe('ads');
      expect(insertion.fallback?.reason).toMatch(/^the answer held no box: /);
    }
  });
});
