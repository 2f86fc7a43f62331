import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, type EncodedImage, type ICoTResult } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { demoModel } from '@icot/demo-model';
import { createSegmentationSelector } from '../src/index.js';

describe('segmentation on the embedded demo model (tiny Qwen2-VL, onnxruntime-node)', () => {
  let model: Awaited<ReturnType<typeof loadOnnxModel>>;
  let image: EncodedImage;
  beforeAll(async () => {
    model = await loadOnnxModel(demoModel.dir);
    image = await model.encodeImage(await readImageFile(demoModel.image));
  });
  afterAll(async () => {
    await model?.dispose();
  });

  const run = (): Promise<ICoTResult> =>
    generateICoT({
      model,
      prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
      selector: createSegmentationSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
      maxNewTokens: 24,
      sampling: { seed: 7 },
    });

  it('chooses whole SLIC regions itself (no fallback), the same way in two runs', async () => {
    const first = await run();
    const second = await run();
    const own = first.insertions.filter((i) => i.selector === 'segmentation' && i.fallback === undefined);
    expect(own.length).toBeGreaterThan(0);
    for (const insertion of own) {
      expect(insertion.variant).toBe('slic');
      expect(insertion.regions!.length).toBeGreaterThan(0);
      // every region it reports is inserted whole
      for (const region of insertion.regions!) for (const p of region) expect(insertion.selected).toContain(p);
      expect(insertion.selected.length).toBeLessThanOrEqual(first.settings.k);
    }
    expect(second.text).toBe(first.text);
    expect(second.insertions.map((i) => [i.step, i.selected, i.regions, i.fallback])).toEqual(first.insertions.map((i) => [i.step, i.selected, i.regions, i.fallback]));
  });
});
