import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { describeModelConformance, TINY_MODEL_VARIANTS, writeTinyQwen2Vl, type TinyModelInfo } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

const VARIANTS = TINY_MODEL_VARIANTS;

const root = await mkdtemp(join(tmpdir(), 'icot-variants-'));
afterAll(() => rm(root, { recursive: true, force: true }));

for (const variant of VARIANTS) {
  describe(variant.name, () => {
    let info: TinyModelInfo;
    beforeAll(async () => {
      const dir = join(root, variant.name.slice(1, 2));
      info = await variant.write(dir, variant.settings);
    });

    it('runs the whole ICoT loop with ADS and input insertion, deterministically under greedy', async () => {
      const model = await loadOnnxModel(info.dir);
      expect(model.capabilities.attention).toBe(true);
      const image = await model.encodeImage(createTestImage(150, 120));
      const run = () =>
        generateICoT({
          model,
          prompt: { text: info.promptText, images: [image] },
          selector: createAdsSelector(),
          decoder: createInputInsertionDecoder(),
          trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 5 }),
          k: 4,
          maxInsertions: 3,
          maxNewTokens: 24,
        });
      const a = await run();
      const b = await run();
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.length).toBeGreaterThan(0);
      expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
      expect(a.insertions.map((i) => i.scores)).toEqual(b.insertions.map((i) => i.scores));
      await model.dispose();
    });
  });

  describeModelConformance(
    `onnx / ${variant.name}`,
    async () => {
      const dir = join(root, `conformance-${variant.name.slice(1, 2)}`);
      const info = await variant.write(dir, variant.settings);
      return {
        model: (await loadOnnxModel(dir)) as VisionLanguageModelV2,
        image: createTestImage(150, 120),
        promptText: info.promptText,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
      };
    },
    { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
  );
}

describe('chunked prefill of fused-attention decoders', () => {
  it('gives the logits and attention of a one-piece prefill (1e-5)', async () => {
    const dir = join(root, 'chunked');
    const info = await writeTinyQwen2Vl(dir, { attention: 'group-query-attention', layers: 2, seed: 21 });
    const whole = await loadOnnxModel(dir, { prefillChunkSize: 0 });
    const chunked = await loadOnnxModel(dir, { prefillChunkSize: 7 });
    const run = async (model: VisionLanguageModelV2) => {
      const image = await model.encodeImage(createTestImage(150, 120));
      const prompt = await model.preparePrompt({ text: info.promptText, images: [image] });
      const session = model.createSession();
      const out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true });
      const next = await session.step({ segments: [{ type: 'tokens', ids: [5] }], positions: model.family.textPositions(prompt.nextPosition, 1), attention: true });
      session.dispose();
      return [out, next].map((o) => [Float32Array.from(o.logits), Float32Array.from(o.attention!)] as const);
    };
    const a = await run(whole);
    const b = await run(chunked);
    for (let s = 0; s < 2; s++)
      for (let t = 0; t < 2; t++) {
        expect(b[s]![t]!.length).toBe(a[s]![t]!.length);
        a[s]![t]!.forEach((v, i) => expect(Math.abs(v - b[s]![t]![i]!)).toBeLessThan(1e-5));
      }
    await whole.dispose();
    await chunked.dispose();
  });
});
