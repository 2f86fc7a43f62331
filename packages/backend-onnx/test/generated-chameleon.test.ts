import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { type TokenImage } from '@icot/families';
import { describeDecoderConformance, describeModelConformance, writeTinyChameleon, type TinyChameleonInfo, type TinyChameleonSettings } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

// The TypeScript-built Chameleon-class folder (writeTinyChameleon, the layout of the tiny-chameleon
// fixture) through the ONNX backend: the family is picked from config.json, images become VQ token
// ids, and it passes the model and decoder conformance suites like the fixture, in fp32, fp16 and q4.

const root = await mkdtemp(join(tmpdir(), 'icot-generated-chameleon-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let folders = 0;
const write = (settings: TinyChameleonSettings): Promise<TinyChameleonInfo> => writeTinyChameleon(join(root, `m${folders++}`), settings);
const image = createTestImage(150, 120); // resized to shortest edge 128, center-cropped to 128 x 128

describe('ONNX backend on a writeTinyChameleon folder', () => {
  let info: TinyChameleonInfo;
  let model: VisionLanguageModelV2;
  beforeAll(async () => {
    info = await write({ seed: 21 });
    model = await loadOnnxModel(info.dir);
  });
  afterAll(() => model?.dispose());

  it('is a Chameleon-class model with the official defaults, its image tokens suppressed', () => {
    expect(model.family.name).toBe('chameleon');
    expect(model.family.defaults).toEqual({ k: 64, insertAfterPrompt: true, excludeSelected: true });
    expect([...model.family.suppressedTokenIds].sort((a, b) => a - b)).toEqual(info.imageTokenIds);
  });

  it('encodes an image to a 16 x 16 grid of image-token ids and lays the prompt out as the family does', async () => {
    const encoded = (await model.encodeImage(image)) as TokenImage;
    expect(encoded.grid).toEqual({ rows: 16, cols: 16 });
    const allowed = new Set(info.imageTokenIds);
    expect(Array.from(encoded.tokenIds).every((t) => allowed.has(t))).toBe(true);
    const prompt = await model.preparePrompt({ text: info.promptText, images: [encoded] });
    const ids = prompt.segments.flatMap((s) => (s.type === 'tokens' ? [...s.ids] : Array.from(encoded.tokenIds)));
    const start = prompt.images[0]!.cacheIndices[0]!;
    expect(ids[0]).toBe(info.specialIds['<s>']);
    expect(ids[start - 1]).toBe(info.specialIds['<racm3:break>']);
    expect(ids[start + 256]).toBe(info.specialIds['<eoss>']);
    expect(Array.from(prompt.positions.data)).toEqual(ids.map((_, i) => i));
  });

  it('runs ICoT: the insertion after the prompt at step -1, no patch chosen twice, no image token generated, deterministic', async () => {
    const encoded = await model.encodeImage(image);
    const run = () =>
      generateICoT({
        model,
        prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture? Think step by step.' }] }], images: [encoded] },
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: 'newline', every: 2 }),
        maxNewTokens: 24,
      });
    const result = await run();
    expect(result.insertions[0]?.step).toBe(-1);
    expect(result.insertions[0]?.selected).toHaveLength(64);
    const chosen = result.insertions.flatMap((i) => i.selected);
    expect(new Set(chosen).size).toBe(chosen.length);
    const imageTokens = new Set(info.imageTokenIds);
    expect(result.tokens.some((t) => imageTokens.has(t))).toBe(false);
    expect((await run()).tokens).toEqual(result.tokens);
  });
});

describe("ONNX backend on a writeTinyChameleon folder that states a short context", () => {
  it("stops the run at config.json's max_position_embeddings, the insertion after the prompt included", async () => {
    const limit = 400;
    const info = await write({ seed: 24, maxPositionEmbeddings: limit });
    const model = await loadOnnxModel(info.dir);
    try {
      expect(model.maxContextTokens).toBe(limit);
      const encoded = await model.encodeImage(image);
      const prompt = await model.preparePrompt({ text: info.promptText, images: [encoded] });
      const block = model.family.insertionBlock({ image: encoded, patches: Array.from({ length: 64 }, (_, i) => i), start: prompt.nextPosition, layout: 'grid' }).positions.length;
      expect(prompt.length + block).toBeLessThan(limit); // the insertion after the prompt fits, a second one will not
      const result = await generateICoT({
        model: Object.create(model, { eosTokenIds: { value: [] } }) as VisionLanguageModelV2, // only the limits end the run
        prompt,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: 'newline', every: 2 }),
        maxNewTokens: 1000,
      });
      const { promptTokens, generatedTokens, insertedTokens } = result.usage;
      expect(result.finishReason).toBe('context-limit');
      expect(result.insertions[0]?.step).toBe(-1);
      expect(insertedTokens).toBe(block * result.insertions.length);
      // full, or a block the trigger asked for did not fit with a token after it
      expect(promptTokens + generatedTokens + insertedTokens).toBeLessThanOrEqual(limit);
      expect(promptTokens + generatedTokens + insertedTokens + block).toBeGreaterThanOrEqual(limit);
    } finally {
      await model.dispose();
    }
  });
});

for (const dtype of ['fp32', 'fp16', 'q4'] as const)
  describeModelConformance(
    `onnx / writeTinyChameleon (${dtype})`,
    async () => {
      const info = await write({ seed: 22, dtype });
      return { model: await loadOnnxModel(info.dir, { dtype }), image, promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
    },
    { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false, dtype },
  );

// one layer: re-bound KV copies (1-D RoPE, keys cached after the q/k norm) give exactly input insertion's logits
for (const [name, create] of [
  ['input', () => createInputInsertionDecoder()],
  ['kv-copy', () => createKvInsertionDecoder({ mode: 'copy' })],
  ['kv-rebind', () => createKvInsertionDecoder({ mode: 'rebind' })],
] as const)
  describeDecoderConformance(
    `${name} on onnx / one-layer writeTinyChameleon`,
    create,
    async () => {
      const info = await write({ seed: 23, layers: 1 });
      return { model: await loadOnnxModel(info.dir), image, promptText: info.promptText };
    },
    { kvCache: name !== 'input', inputInsertion: name === 'kv-copy' ? 'different' : 'equal' },
  );
