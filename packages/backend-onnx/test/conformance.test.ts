import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MockSelector } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { decodeImage } from '@icot/image';
import { copyModel, describeDecoderConformance, describeModelConformance, fixturePath, loadOracle, replaceSoftmaxWithExpLogSoftmax } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

const oracle = loadOracle('tiny-qwen2-vl');
const image = decodeImage(new Uint8Array(readFileSync(fixturePath('tiny-qwen2-vl', 'image.png'))));

describeModelConformance(
  'onnx / tiny Qwen2-VL (plain Softmax attention)',
  async () => ({
    model: await loadOnnxModel(fixturePath('tiny-qwen2-vl')),
    image,
    promptText: oracle.prompt_text,
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
  }),
  { attention: true },
);

const copies: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of copies) await cleanup();
});

describeModelConformance(
  'onnx / tiny Qwen2-VL with an attention graph the tap cannot read',
  async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    copies.push(copy.cleanup);
    await replaceSoftmaxWithExpLogSoftmax(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'));
    return {
      model: await loadOnnxModel(copy.dir),
      image,
      promptText: oracle.prompt_text,
      selector: new MockSelector({ requiresAttention: false }),
      decoder: createInputInsertionDecoder(),
    };
  },
  { attention: false },
);

describeDecoderConformance('input insertion on onnx / tiny Qwen2-VL', () => createInputInsertionDecoder(), async () => ({
  model: await loadOnnxModel(fixturePath('tiny-qwen2-vl')),
  image,
  promptText: oracle.prompt_text,
}));
