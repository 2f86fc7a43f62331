import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, type ICoTResult, type VisionLanguageModelV2 } from '@icot/core';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image/node';
import { nodeFileSource } from '@icot/model/node';
import { createAdsSelector } from '@icot/selector-ads';
import { loadWebModel } from '../src/index.js';

async function demoRun(model: VisionLanguageModelV2): Promise<ICoTResult> {
  const image = await model.encodeImage(await readImageFile(demoModel.image));
  return generateICoT({
    model,
    prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
    trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
    k: 16,
    maxInsertions: 3,
    maxNewTokens: 48,
  });
}

describe('onnxruntime-web (wasm, in Node) through @icot/model', () => {
  let web: VisionLanguageModelV2;
  let node: VisionLanguageModelV2;
  beforeAll(async () => {
    web = await loadWebModel(nodeFileSource(demoModel.dir));
    node = await loadOnnxModel(demoModel.dir);
  });
  afterAll(async () => {
    await web?.dispose();
    await node?.dispose();
  });

  it('runs ICoT on the demo model with the tokens, insertions and attention of the Node backend', async () => {
    const [a, b] = [await demoRun(web), await demoRun(node)];
    expect(web.provider).toBe('onnxruntime-web');
    expect(a.tokens).toEqual(b.tokens);
    expect(a.insertions.length).toBeGreaterThan(0);
    expect(a.insertions.map((i) => [i.step, i.selected])).toEqual(b.insertions.map((i) => [i.step, i.selected]));
    for (const [i, insertion] of a.insertions.entries()) {
      const other = b.insertions[i]!.attention!;
      let diff = 0;
      insertion.attention!.forEach((v, j) => (diff = Math.max(diff, Math.abs(v - other[j]!))));
      expect(diff).toBeLessThan(1e-5);
    }
  });
});
