import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawImage, type Tensor } from '@huggingface/transformers';
import { createSignalTrigger, generateICoT, type EncodedImage } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import { TiledFeatureImage } from '@icot/families';
import { describeModelConformance, TINY_FAMILY_VARIANTS, writeTinyQwen25Vl, writeTinySmolVlm } from '@icot/testing';
import { loadTransformersModel, type TransformersVisionLanguageModel } from '../src/index.js';

// SmolVLM / Idefics3 (tiles + global image, pixel_attention_mask) and Qwen2.5-VL (image_grid_thw,
// window attention in the vision graph) through the transformers.js backend: its sessions, tokenizer
// and chat template, icot's preprocessing, family layout and decoding loop.

const root = await mkdtemp(join(tmpdir(), 'icot-tjs-tiled-backend-'));
const tappedCacheDir = join(root, 'tapped');
const owned: TransformersVisionLanguageModel[] = [];
afterAll(async () => {
  for (const model of owned) await model.dispose();
  await rm(root, { recursive: true, force: true });
});
const load = async (dir: string, keep = true): Promise<TransformersVisionLanguageModel> => {
  const model = await loadTransformersModel(dir, { tappedCacheDir });
  if (keep) owned.push(model);
  return model;
};
const everyToken = (vocab: number) => createSignalTrigger({ signal: { tokenIds: Array.from({ length: vocab }, (_, i) => i) }, every: 4 });
const photo = createTestImage(640, 480);

describe('transformers.js backend on a writeTinySmolVlm folder', () => {
  it("lays the prompt out as transformers.js's own Idefics3 processor does, and runs ICoT over the tiles deterministically", async () => {
    const info = await writeTinySmolVlm(join(root, 'smolvlm'), { seed: 41 });
    const model = await load(info.dir);
    expect(model.family.name).toBe('idefics3');
    const image = await model.encodeImage(photo);
    expect(image).toBeInstanceOf(TiledFeatureImage);
    const messages = [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'What is in the picture?' }] }];
    const prompt = await model.preparePrompt({ messages, images: [image] });
    const ids = prompt.segments.flatMap((s) => (s.type === 'tokens' ? [...s.ids] : (s.patches ?? []).map(() => info.specialIds['<image>']!)));
    // transformers.js's processor on the same chat (its pixels differ - it resizes with sharp - but not its layout)
    const processor = model.hfProcessor as unknown as {
      apply_chat_template(m: unknown, o: unknown): string;
      (text: string, image: RawImage): Promise<{ input_ids: Tensor }>;
    };
    const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
    const inputs = await processor(text, new RawImage(new Uint8ClampedArray(photo.data), photo.width, photo.height, 3));
    expect(ids).toEqual(Array.from(inputs.input_ids.data as BigInt64Array, Number));
    const run = () =>
      generateICoT({ model, prompt: { messages, images: [image] }, selector: createAdsSelector(), decoder: createInputInsertionDecoder(), trigger: everyToken(model.vocabSize), k: 6, maxInsertions: 2, maxNewTokens: 12 });
    const a = await run();
    expect(a.insertions).toHaveLength(2);
    expect(a.insertions.every((i) => i.insertedTokens === 8)).toBe(true);
    expect((await run()).tokens).toEqual(a.tokens);
  });
});

describe('transformers.js backend on a writeTinyQwen25Vl folder', () => {
  it('feeds image_grid_thw to the window-attention vision session and runs ICoT deterministically', async () => {
    const info = await writeTinyQwen25Vl(join(root, 'qwen2.5-vl'), { seed: 44 });
    const model = await load(info.dir);
    const image: EncodedImage = await model.encodeImage(createTestImage(224, 168));
    expect(image.grid).toEqual({ rows: 6, cols: 8 });
    const run = () =>
      generateICoT({ model, prompt: { text: info.promptText, images: [image] }, selector: createAdsSelector(), decoder: createInputInsertionDecoder(), trigger: everyToken(model.vocabSize), k: 4, maxInsertions: 2, maxNewTokens: 12 });
    const a = await run();
    expect(a.insertions).toHaveLength(2);
    expect((await run()).tokens).toEqual(a.tokens);
  });
});

// the model conformance suite on TINY_FAMILY_VARIANTS: (e) Qwen2.5-VL (single grid, crops) and (f) SmolVLM (tiled, no crops)
TINY_FAMILY_VARIANTS.forEach((variant, i) => {
  const tiled = variant.write === writeTinySmolVlm;
  describeModelConformance(
    `transformers.js / ${variant.name}`,
    async () => {
      const info = await variant.write(join(root, `variant-${i}`), variant.settings);
      return { model: await load(info.dir, false), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
    },
    { attention: true, kvCache: true, crop: !tiled, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: tiled },
  );
});
