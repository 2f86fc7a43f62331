import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { VisionLanguageModelV2 } from '@icot/core';
import { createTestImage, MockSelector } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { decodeImage } from '@icot/image';
import {
  copyModel,
  describeDecoderConformance,
  describeModelConformance,
  fixturePath,
  loadOracle,
  replaceSoftmaxWithExpLogSoftmax,
  writeTinyLlava,
  writeTinyQwen2Vl,
  type TinyModelSettings,
} from '@icot/testing';
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
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
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
      selector: new MockSelector({ requires: { attention: false } }),
      decoder: createInputInsertionDecoder(),
    };
  },
  { attention: false, kvCache: true, crop: true, layerAttention: false, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
);

describeDecoderConformance(
  'input insertion on onnx / tiny Qwen2-VL',
  () => createInputInsertionDecoder(),
  async () => ({
    model: await loadOnnxModel(fixturePath('tiny-qwen2-vl')),
    image,
    promptText: oracle.prompt_text,
  }),
  { kvCache: false, inputInsertion: 'equal' },
);

// At Qwen2-VL's real vocabulary size (config vocab_size 151,936, more than the tokenizer holds),
// with a small hidden size so it stays fast.
const QWEN2_VL_VOCAB = 151_936;
const root = await mkdtemp(join(tmpdir(), 'icot-conformance-'));
const loaded: VisionLanguageModelV2[] = [];
afterAll(async () => {
  for (const model of loaded) await model.dispose();
  await rm(root, { recursive: true, force: true });
});
const generated = (name: string, settings: TinyModelSettings, llava = false) => {
  let ready: Promise<{ model: VisionLanguageModelV2; promptText: string }> | undefined;
  return async () => {
    ready ??= (llava ? writeTinyLlava : writeTinyQwen2Vl)(join(root, name), { hidden: 32, heads: 4, kvHeads: 2, vocab: QWEN2_VL_VOCAB, ...settings }).then(async (info) => {
      const model = await loadOnnxModel(info.dir);
      loaded.push(model);
      return { model, promptText: info.promptText };
    });
    return { ...(await ready), image: createTestImage(150, 120) };
  };
};

describeModelConformance(
  `onnx / generated Qwen2-VL-style model at V = ${QWEN2_VL_VOCAB}`,
  async () => {
    const info = await writeTinyQwen2Vl(join(root, 'model-suite'), { hidden: 32, heads: 4, kvHeads: 2, layers: 2, vocab: QWEN2_VL_VOCAB, seed: 51 });
    return { model: await loadOnnxModel(info.dir), image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
  },
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
);
// config.json states a short context (max_position_embeddings 200; the suite's prompt is 124
// tokens), so the suite runs ICoT to the model's limit.
describeModelConformance(
  'onnx / generated Qwen2-VL-style model stating a 200-token context',
  async () => {
    const info = await writeTinyQwen2Vl(join(root, 'short-context'), { maxPositionEmbeddings: 200, seed: 56 });
    const model = await loadOnnxModel(info.dir);
    return { model, image: createTestImage(150, 120), promptText: info.promptText, selector: createAdsSelector(), decoder: createInputInsertionDecoder() };
  },
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false, maxContextTokens: 200 },
);
const oneLayer = generated('one-layer', { layers: 1, attention: 'group-query-attention', seed: 52 });
const oneLayerLlava = generated('one-layer-llava', { layers: 1, seed: 53 }, true);
const twoLayers = generated('two-layers', { layers: 2, seed: 54 });
describeDecoderConformance(`input insertion at V = ${QWEN2_VL_VOCAB}`, () => createInputInsertionDecoder(), twoLayers, { kvCache: false, inputInsertion: 'equal' });
describeDecoderConformance(`kv-rebind on a one-layer Qwen2-VL-style model at V = ${QWEN2_VL_VOCAB}`, () => createKvInsertionDecoder({ mode: 'rebind' }), oneLayer, {
  kvCache: true,
  inputInsertion: 'equal',
});
describeDecoderConformance(`kv-rebind on a one-layer LLaVA-style model (no framing tokens) at V = ${QWEN2_VL_VOCAB}`, () => createKvInsertionDecoder({ mode: 'rebind' }), oneLayerLlava, {
  kvCache: true,
  inputInsertion: 'equal-after-next-token',
});
describeDecoderConformance(`kv-copy on a one-layer Qwen2-VL-style model at V = ${QWEN2_VL_VOCAB}`, () => createKvInsertionDecoder({ mode: 'copy' }), oneLayer, {
  kvCache: true,
  inputInsertion: 'different',
});
describeDecoderConformance(`kv-rebind on a two-layer model at V = ${QWEN2_VL_VOCAB}`, () => createKvInsertionDecoder({ mode: 'rebind' }), twoLayers, {
  kvCache: true,
  inputInsertion: 'different',
});
