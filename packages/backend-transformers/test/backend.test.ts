import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, ModelFilesError, OptionError } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { decodeImage } from '@icot/image';
import { readImageFile } from '@icot/image/node';
import {
  copyModel,
  describeDecoderConformance,
  describeModelConformance,
  fixturePath,
  loadOracle,
  moveWeightsToExternalData,
  writeTinyLlava,
  writeTinyQwen2Vl,
} from '@icot/testing';
import type { FeatureImage } from '@icot/families';
import { loadTransformersModel, type TransformersVisionLanguageModel } from '../src/index.js';

const oracle = loadOracle('tiny-qwen2-vl');
const image = decodeImage(new Uint8Array(await readFile(fixturePath('tiny-qwen2-vl', 'image.png'))));
const root = await mkdtemp(join(tmpdir(), 'icot-tjs-'));
const tappedCacheDir = join(root, 'tapped');
afterAll(() => rm(root, { recursive: true, force: true }));

const icot = (model: TransformersVisionLanguageModel, encoded: Awaited<ReturnType<TransformersVisionLanguageModel['encodeImage']>>, maxInsertions: number) =>
  generateICoT({
    model,
    prompt: { text: oracle.prompt_text, images: [encoded] },
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
    trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
    k: oracle.k,
    maxInsertions,
    maxNewTokens: oracle.max_new_tokens,
  });

describe('transformers.js backend reproduces the reference ICoT run (tiny Qwen2-VL fixture)', () => {
  let model: TransformersVisionLanguageModel;
  beforeAll(async () => {
    model = await loadTransformersModel(fixturePath('tiny-qwen2-vl'), { tappedCacheDir });
  });
  afterAll(() => model?.dispose());

  it('uses transformers.js tokenizer and chat template, the shared preprocessing, and our positions', async () => {
    const encoded = (await model.encodeImage(image)) as FeatureImage;
    expect(encoded.grid).toEqual({ rows: 8, cols: 8 });
    Array.from(encoded.features.subarray(0, 8)).forEach((v, i) => expect(v).toBeCloseTo(oracle.image_features_first_row![i]!, 5));
    const prompt = await model.preparePrompt({ text: oracle.prompt_text, images: [encoded] });
    expect([0, 1, 2].map((a) => Array.from(prompt.positions.data.subarray(a * prompt.length, (a + 1) * prompt.length)))).toEqual(oracle.position_ids);
    const question = oracle.prompt_text.split('<|vision_end|>')[1]!.split('<|im_end|>')[0]!;
    const chat = await model.preparePrompt({ messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }], images: [encoded] });
    expect(chat.length).toBe(prompt.length);
  });

  it('reproduces the ICoT tokens and every selected patch list exactly', async () => {
    const result = await icot(model, await model.encodeImage(image), oracle.max_insertions);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    result.insertions.forEach((ins, n) => ins.selected.forEach((p, j) => expect(Math.abs(ins.scores[j]! - oracle.events[n]!.scores[p]!)).toBeLessThan(1e-5)));
  });

  it('reproduces plain greedy decoding with insertions off', async () => {
    expect((await icot(model, await model.encodeImage(image), 0)).tokens).toEqual(oracle.plain_greedy_tokens);
  });

  it('feeds the vision encoder the pixel_values of the Python processor (and of the ONNX backend) on a resized, rotated JPEG', async () => {
    // The golden was computed with Pillow + numpy as the slow HF processor does (make_goldens.py);
    // the ONNX backend feeds preprocessQwen2VlImage's output, which @icot/families checks against it.
    const goldens = new URL('../../image/test/goldens/', import.meta.url);
    const manifest = JSON.parse(await readFile(new URL('manifest.json', goldens), 'utf8')) as {
      processed: { input: string; config: string; dims: number[]; gridThw: number[]; pixelValuesSha256: string }[];
    };
    const golden = manifest.processed.find((p) => p.input === 'inputs/photo-640x480-rot6.jpg' && p.config === 'tiny-qwen2-vl')!;
    const photo = await readImageFile(new URL(golden.input, goldens).pathname);
    expect([photo.width, photo.height]).toEqual([480, 640]);
    // what transformers.js's vision session is fed
    const seen: Record<string, { dims: number[]; data: ArrayBufferView }>[] = [];
    const vision = model.hfModel.sessions['vision_encoder']!;
    const run = vision.run.bind(vision);
    vision.run = (feeds, fetches) => {
      seen.push(feeds as unknown as (typeof seen)[number]);
      return run(feeds, fetches);
    };
    try {
      const encoded = await model.encodeImage(photo);
      expect(encoded.grid).toEqual({ rows: golden.gridThw[1]! / 2, cols: golden.gridThw[2]! / 2 });
    } finally {
      vision.run = run;
    }
    const pixels = seen[0]!['pixel_values']!;
    expect(pixels.dims).toEqual(golden.dims);
    const grid = seen[0]!['grid_thw'] ?? seen[0]!['image_grid_thw']!;
    expect(Array.from(grid.data as BigInt64Array, Number)).toEqual(golden.gridThw);
    const bytes = new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(golden.pixelValuesSha256);
  });

  it('loads the tapped copy from the cache folder, symlinking everything but the decoder', async () => {
    expect(model.loadedFrom.startsWith(tappedCacheDir)).toBe(true);
  });
});

describe('offline and file errors', () => {
  it('loading a local folder never touches the network', async () => {
    const calls: string[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = (async (input: unknown) => {
      calls.push(String(input));
      throw new Error('network is off in this test');
    }) as typeof fetch;
    try {
      const model = await loadTransformersModel(fixturePath('tiny-qwen2-vl'), { tappedCacheDir: join(root, 'offline') });
      const result = await icot(model, await model.encodeImage(image), 1);
      expect(result.tokens.length).toBeGreaterThan(0);
      await model.dispose();
    } finally {
      globalThis.fetch = original;
    }
    expect(calls).toEqual([]);
  });

  it('a missing file is named', async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      await unlink(join(copy.dir, 'onnx', 'embed_tokens.onnx'));
      const error = await loadTransformersModel(copy.dir, { tappedCacheDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFilesError);
      expect((error as Error).message).toMatch(/onnx\/embed_tokens\.onnx/);
      await expect(loadTransformersModel(join(root, 'nope'))).rejects.toThrow(/does not exist/);
      await expect(loadTransformersModel(copy.dir, { dtype: 'q4', tappedCacheDir })).rejects.toThrow(/decoder_model_merged_q4\.onnx/);
      await expect(loadTransformersModel(copy.dir, { dtype: 'q9' })).rejects.toBeInstanceOf(OptionError);
    } finally {
      await copy.cleanup();
    }
  });

  it('a not-cached hub id fails clearly without network use when local files only', async () => {
    await expect(loadTransformersModel('test-org/not-cached', { localFilesOnly: true, cacheDir: join(root, 'hf-cache') })).rejects.toThrow(/not in the hub cache .* network use is off/);
  });

  it('decoders with external weight files keep them in place and reproduce the reference run', async () => {
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      await moveWeightsToExternalData(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'), 'decoder_model_merged.onnx_data');
      const model = await loadTransformersModel(copy.dir, { tappedCacheDir: join(root, 'external') });
      const result = await icot(model, await model.encodeImage(image), oracle.max_insertions);
      expect(result.tokens).toEqual(oracle.tokens);
      await model.dispose();
    } finally {
      await copy.cleanup();
    }
  });
});

describeModelConformance(
  'transformers.js / tiny Qwen2-VL fixture',
  async () => ({ model: await loadTransformersModel(fixturePath('tiny-qwen2-vl'), { tappedCacheDir }), image, promptText: oracle.prompt_text, selector: createAdsSelector(), decoder: createInputInsertionDecoder() }),
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
);

for (const [name, write, settings] of [
  ['Qwen2-VL-style, GroupQueryAttention', writeTinyQwen2Vl, { attention: 'group-query-attention', seed: 31 }],
  ['Qwen2-VL-style, MultiHeadAttention', writeTinyQwen2Vl, { attention: 'multi-head-attention', seed: 32 }],
  ['LLaVA-style', writeTinyLlava, { seed: 33 }],
  // Qwen2-VL's real vocabulary size (151,936 logits, fewer tokenizer entries), small hidden size
  ['Qwen2-VL-style at V = 151936', writeTinyQwen2Vl, { hidden: 32, vocab: 151_936, seed: 34 }],
] as const) {
  describeModelConformance(
    `transformers.js / generated ${name}`,
    async () => {
      const info = await write(join(root, name.replace(/\W+/g, '-')), settings);
      return { model: await loadTransformersModel(info.dir, { tappedCacheDir }), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
    },
    { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
  );
}

// config.json states a short context in its text_config (max_position_embeddings 200; the suite's
// prompt is 139 tokens), so the suite runs ICoT to the model's limit.
describeModelConformance(
  'transformers.js / generated LLaVA-style model stating a 200-token context',
  async () => {
    const info = await writeTinyLlava(join(root, 'short-context'), { seed: 36, maxPositionEmbeddings: 200 });
    return { model: await loadTransformersModel(info.dir, { tappedCacheDir }), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
  },
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false, maxContextTokens: 200 },
);

// Half-precision exports whose vision encoder takes float16 pixel_values (transformers.js's own
// pipeline feeds float32 there and fails): the backend feeds what the graph declares.
for (const dtype of ['fp16', 'q4f16'] as const)
  describeModelConformance(
    `transformers.js / generated Qwen2-VL-style GQA model, ${dtype}`,
    async () => {
      const info = await writeTinyQwen2Vl(join(root, `half-${dtype}`), { attention: 'group-query-attention', seed: 35, dtype });
      return { model: await loadTransformersModel(info.dir, { dtype, tappedCacheDir }), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
    },
    { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false, dtype },
  );

describeDecoderConformance(
  'input insertion on transformers.js',
  () => createInputInsertionDecoder(),
  async () => ({
    model: await loadTransformersModel(fixturePath('tiny-qwen2-vl'), { tappedCacheDir }),
    image,
    promptText: oracle.prompt_text,
  }),
  { kvCache: false, inputInsertion: 'equal' },
);
