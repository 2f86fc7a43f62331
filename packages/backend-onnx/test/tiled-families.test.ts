import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSignalTrigger,
  gatherPositions,
  generateICoT,
  type DecodingSessionV2,
  type EncodedImage,
  type InsertionDecoderV2,
  type StepInput,
  type VisionLanguageModelV2,
} from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { createAdsSelector } from '@icot/selector-ads';
import { expandIdefics3Prompt, readIdefics3SpecialTokens, TiledFeatureImage, type FeatureImage } from '@icot/families';
import {
  describeDecoderConformance,
  describeModelConformance,
  TINY_FAMILY_VARIANTS,
  writeTinyQwen25Vl,
  writeTinySmolVlm,
  type TinyModelInfo,
  type TinyQwen25VlSettings,
  type TinySmolVlmSettings,
} from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

// SmolVLM / Idefics3 (tiles + global image) and Qwen2.5-VL (image_grid_thw, window attention in the
// vision graph) through the ONNX backend, on the tiny folders @icot/testing builds in TypeScript.

const root = await mkdtemp(join(tmpdir(), 'icot-tiled-families-'));
const loaded: VisionLanguageModelV2[] = [];
afterAll(async () => {
  for (const model of loaded) await model.dispose();
  await rm(root, { recursive: true, force: true });
});
let folders = 0;
/** A tiny SmolVLM through the backend; `owned` models are disposed here (the model conformance suite disposes its own). */
async function smolVlm(settings: TinySmolVlmSettings = {}, owned = true): Promise<{ model: VisionLanguageModelV2; info: TinyModelInfo }> {
  const info = await writeTinySmolVlm(join(root, `smolvlm-${folders++}`), { layers: 2, heads: 4, kvHeads: 2, seed: 31, ...settings });
  const model = await loadOnnxModel(info.dir, settings.dtype ? { dtype: settings.dtype } : {});
  if (owned) loaded.push(model);
  return { model, info };
}
async function qwen25Vl(settings: TinyQwen25VlSettings = {}): Promise<{ model: VisionLanguageModelV2; info: TinyModelInfo }> {
  const info = await writeTinyQwen25Vl(join(root, `qwen2.5-vl-${folders++}`), { layers: 2, seed: 32, ...settings });
  const model = await loadOnnxModel(info.dir);
  loaded.push(model);
  return { model, info };
}
/** Two greedy ICoT runs with ADS and input insertion, the trigger firing on every 4th token (at most 2 insertions of k patches). */
async function icotTwice(model: VisionLanguageModelV2, text: string, image: EncodedImage, k: number) {
  const run = () =>
    generateICoT({
      model,
      prompt: { text, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 4 }),
      k,
      maxInsertions: 2,
      maxNewTokens: 12,
    });
  return [await run(), await run()] as const;
}
// 640 x 480 -> longest edge 128 (128 x 96) -> 128 x 128 for the encoder: 2 x 2 tiles of 64 px + the global image, 4 x 4 tokens each
const photo = createTestImage(640, 480);

describe('ONNX backend on a writeTinySmolVlm folder (Idefics3: tiles + global image)', () => {
  let model: VisionLanguageModelV2;
  let info: TinyModelInfo;
  beforeAll(async () => {
    ({ model, info } = await smolVlm());
  });

  it('is an idefics3 model with tiled images; an image becomes 2 x 2 tiles + the global image, tile boxes in original pixels', async () => {
    expect(model.family.name).toBe('idefics3');
    expect(model.capabilities.tiledImages).toBe(true);
    const image = (await model.encodeImage(photo)) as TiledFeatureImage;
    expect(image).toBeInstanceOf(TiledFeatureImage);
    expect(image.patchCount).toBe(5 * 16);
    expect(image.tiles.map((t) => [t.place, t.box])).toEqual([
      [{ row: 0, col: 0 }, { x: 0, y: 0, width: 320, height: 240 }],
      [{ row: 0, col: 1 }, { x: 320, y: 0, width: 320, height: 240 }],
      [{ row: 1, col: 0 }, { x: 0, y: 240, width: 320, height: 240 }],
      [{ row: 1, col: 1 }, { x: 320, y: 240, width: 320, height: 240 }],
      ['global', { x: 0, y: 0, width: 640, height: 480 }],
    ]);
  });

  it("lays the prompt out as the processor does and maps every image token to its cache index", async () => {
    const image = await model.encodeImage(photo);
    const prompt = await model.preparePrompt({ text: info.promptText, images: [image] });
    const ids = prompt.segments.flatMap((s) => (s.type === 'tokens' ? [...s.ids] : (s.patches ?? []).map(() => info.specialIds['<image>']!)));
    const tokens = readIdefics3SpecialTokens((t) => model.tokenizer.tokenToId(t), (t) => model.tokenizer.encode(t));
    const reference = expandIdefics3Prompt(model.tokenizer.encode(info.promptText), [{ rows: 2, cols: 2 }], 16, tokens);
    expect(ids).toEqual(reference.ids);
    expect(Array.from(prompt.images[0]!.cacheIndices)).toEqual(reference.imageTokenPositions[0]);
    expect(Array.from(prompt.positions.data)).toEqual(ids.map((_, i) => i));
  });

  it("passes string message contents to SmolVLM's template as text parts (it renders only lists of parts)", async () => {
    const image = await model.encodeImage(photo);
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'Hi' }] },
    ];
    const prompt = await model.preparePrompt({ messages, images: [image] });
    expect(model.tokenizer.decode(prompt.textTokenIds)).toMatch(/^<\|im_start\|>System: Be brief\.<end_of_utterance>\nUser:<fake_token_around_image><row_1_col_1>/);
  });

  it('puts the peak attention on a tile token: ADS selects it, and its box is its cell of its tile in original-image pixels', async () => {
    // the query image's patch map, as the loop will compute it for this prompt
    const messages = [{ role: 'user' as const, content: [{ type: 'image' as const }, { type: 'text' as const, text: 'Where is the circle?' }] }];
    const image = await model.encodeImage(photo);
    const { images } = await model.preparePrompt({ messages, images: [image] });
    // tile (1, 0) is frame 2; its token at row 2, column 3 is patch 2 * 16 + 2 * 4 + 3 = 43
    const target = 43;
    const peakAt = images[0]!.cacheIndices[target]!;
    // a model whose attention rows peak at that cache index (everything else comes from the real model)
    const peaked: VisionLanguageModelV2 = Object.assign(Object.create(model) as VisionLanguageModelV2, {
      createSession: (): DecodingSessionV2 => {
        const session = model.createSession();
        return {
          get length() {
            return session.length;
          },
          step: async (input: StepInput) => {
            const out = await session.step(input);
            if (!out.attention) return out;
            const row = new Float32Array(out.attention.length).fill(0.5 / out.attention.length);
            row[peakAt] = 0.5;
            return { ...out, attention: row };
          },
          dispose: () => session.dispose(),
        };
      },
    });
    const result = await generateICoT({
      model: peaked,
      prompt: { messages, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 1 }),
      k: 1,
      maxInsertions: 1,
      maxNewTokens: 3,
    });
    const insertion = result.insertions[0]!;
    expect(insertion.selected).toEqual([target]);
    expect(insertion.cells).toEqual([{ tile: 2, row: 2, col: 3 }]);
    // Idefics3 geometry: 640 x 480 -> 128 x 96 -> 128 x 128; tile (1, 0) is encoder pixels x 0-63, y 64-127, tokens 16 px;
    // back to the original: x by 640 / 128 = 5, y by 480 / 128 = 3.75 -> token (2, 3) is x 240-320, y 240 + 120 = 360-420
    expect(insertion.boxes).toEqual([{ x: 240, y: 360, width: 80, height: 60 }]);
    // a global token covers its cell of the whole image: (0, 0) of the global frame is the top-left 160 x 120
    expect(image.patchBox(64)).toEqual({ x: 0, y: 0, width: 160, height: 120 });
  });

  it('runs ICoT with ADS over all image tokens and inserts the selected features, deterministically', async () => {
    const [a, b] = await icotTwice(model, info.promptText, await model.encodeImage(photo), 6);
    expect(a.tokens).toEqual(b.tokens);
    expect(a.insertions).toHaveLength(2);
    expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
    for (const insertion of a.insertions) {
      expect(insertion.scores).toHaveLength(6);
      // <fake_token_around_image> + 6 features + <fake_token_around_image>
      expect(insertion.insertedTokens).toBe(8);
    }
  });

  it('kv-rebind through the tiled, non-contiguous patch map gives the logits of input insertion on a one-layer model (1e-5)', async () => {
    const one = await smolVlm({ layers: 1, seed: 33 });
    // patches of four frames: tile (0, 0), tile (0, 1), tile (1, 1) and the global image
    const patches = [1, 17, 35, 50, 70];
    const insertWith = async (decoder: InsertionDecoderV2) => {
      const image = await one.model.encodeImage(photo);
      const prompt = await one.model.preparePrompt({ text: one.info.promptText, images: [image] });
      const session = one.model.createSession();
      const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
      const map = prompt.images[0]!.cacheIndices;
      const result = await decoder.insert({ model: one.model, session, image, cacheIndices: map, imagePositions: gatherPositions(prompt.positions, map), patches, position: prompt.nextPosition, logits: first.logits });
      const next = await session.step({ segments: [{ type: 'tokens', ids: [7] }], positions: one.model.family.textPositions(result.nextPosition, 1) });
      session.dispose();
      return { result: Float32Array.from(result.logits), next: Float32Array.from(next.logits), length: session.length, map };
    };
    const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const input = await insertWith(createInputInsertionDecoder());
    const rebind = await insertWith(createKvInsertionDecoder({ mode: 'rebind' }));
    const copy = await insertWith(createKvInsertionDecoder({ mode: 'copy' }));
    expect(new Set(patches.map((p) => input.map[p]! - p)).size).toBe(patches.length); // each in another run of the cache
    expect(rebind.length).toBe(input.length);
    expect(maxDiff(rebind.result, input.result)).toBeLessThan(1e-5);
    expect(maxDiff(rebind.next, input.next)).toBeLessThan(1e-5);
    expect(maxDiff(copy.next, rebind.next)).toBeGreaterThan(1e-4);
  });
});

// the model conformance suite on TINY_FAMILY_VARIANTS: (e) Qwen2.5-VL (single grid, crops) and (f) SmolVLM (tiled, no crops)
for (const variant of TINY_FAMILY_VARIANTS) {
  const tiled = variant.write === writeTinySmolVlm;
  describeModelConformance(
    `onnx / ${variant.name}`,
    async () => {
      const info = await variant.write(join(root, `variant-${folders++}`), variant.settings);
      return { model: await loadOnnxModel(info.dir), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
    },
    { attention: true, kvCache: true, crop: !tiled, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: tiled },
  );
}

describeModelConformance(
  'onnx / writeTinySmolVlm (q4f16)',
  async () => {
    const { model, info } = await smolVlm({ seed: 35, dtype: 'q4f16' }, false);
    return { model, image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
  },
  { attention: true, kvCache: true, crop: false, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: true, dtype: 'q4f16' },
);

// one layer: re-bound KV copies give exactly input insertion's logits through the tiled patch map
let oneLayer: Promise<{ model: VisionLanguageModelV2; info: TinyModelInfo }> | undefined;
for (const [name, create, layout] of [
  ['input', () => createInputInsertionDecoder(), 'grid'],
  ['input (source layout)', () => createInputInsertionDecoder({ layout: 'source' }), 'source'],
  ['kv-copy', () => createKvInsertionDecoder({ mode: 'copy' }), 'grid'],
  ['kv-rebind', () => createKvInsertionDecoder({ mode: 'rebind' }), 'grid'],
  ['kv-rebind (source layout)', () => createKvInsertionDecoder({ mode: 'rebind', layout: 'source' }), 'source'],
] as const)
  describeDecoderConformance(
    `${name} on onnx / one-layer writeTinySmolVlm (${layout} layout, tiled patch map)`,
    create,
    async () => {
      const { model, info } = await (oneLayer ??= smolVlm({ layers: 1, seed: 36 }));
      return { model, image: createTestImage(150, 120), promptText: info.promptText };
    },
    { kvCache: name.startsWith('kv'), inputInsertion: name === 'kv-copy' ? 'different' : 'equal' },
  );

describe('ONNX backend on a writeTinyQwen25Vl folder (image_grid_thw, window attention in the vision graph)', () => {
  it('feeds image_grid_thw: window and full attention agree on an image of one window and differ on an image of several', async () => {
    const windowed = await qwen25Vl({ seed: 37, visionBlocks: ['window', 'full'] });
    const full = await qwen25Vl({ seed: 37, visionBlocks: ['full', 'full'] });
    const features = async (model: VisionLanguageModelV2, width: number, height: number) => ((await model.encodeImage(createTestImage(width, height))) as FeatureImage).features;
    // 112 x 112: 4 x 4 merged tokens, one 112-pixel window -> window attention is full attention
    expect(Array.from(await features(windowed.model, 112, 112))).toEqual(Array.from(await features(full.model, 112, 112)));
    // 224 x 168: 8 x 6 merged tokens in 2 x 2 windows (the last row of windows 2 tokens high)
    const a = await features(windowed.model, 224, 168);
    const b = await features(full.model, 224, 168);
    expect(a.length).toBe(8 * 6 * 64);
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 1e-4)).toBe(true);
    const grid = ((await windowed.model.encodeImage(createTestImage(224, 168))) as FeatureImage).grid;
    expect(grid).toEqual({ rows: 6, cols: 8 });
  });

  it('runs ICoT end to end (M-RoPE insertion blocks), deterministically', async () => {
    const { model, info } = await qwen25Vl({ seed: 38 });
    expect(model.family.name).toBe('qwen2-vl');
    const [a, b] = await icotTwice(model, info.promptText, await model.encodeImage(createTestImage(224, 168)), 4);
    expect(a.insertions).toHaveLength(2);
    expect(b.tokens).toEqual(a.tokens);
  });
});
