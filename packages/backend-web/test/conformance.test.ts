import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createTestImage, MockDecoder } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { decodeImage } from '@icot/image';
import { assembleModel } from '@icot/model';
import { nodeFileSource } from '@icot/model/node';
import { describeModelConformance, fixturePath, loadOracle, writeTinyQwen2Vl } from '@icot/testing';
import { loadWebModel, webSessionFactory } from '../src/index.js';

// The behavioural suite every backend runs, here on onnxruntime-web's WebAssembly build in Node
// (the numerics the page gets with device 'wasm'): the reference fixture (plain Softmax attention)
// and a generated GroupQueryAttention decoder, tapped through qk_output as on wasm and through the
// recomputed tap that WebGPU sessions get.
const oracle = loadOracle('tiny-qwen2-vl');
const image = decodeImage(new Uint8Array(readFileSync(fixturePath('tiny-qwen2-vl', 'image.png'))));
const capabilities = { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false } as const;

describeModelConformance(
  'onnxruntime-web (wasm) / tiny Qwen2-VL (plain Softmax attention)',
  async () => ({
    model: await loadWebModel(nodeFileSource(fixturePath('tiny-qwen2-vl'))),
    image,
    promptText: oracle.prompt_text,
    selector: createAdsSelector(),
    decoder: createInputInsertionDecoder(),
  }),
  capabilities,
);

const root = await mkdtemp(join(tmpdir(), 'icot-web-conformance-'));
afterAll(() => rm(root, { recursive: true, force: true }));

for (const tap of ['qk-output', 'recompute'] as const)
  describeModelConformance(
    `onnxruntime-web (wasm) / generated Qwen2-VL, GroupQueryAttention, ${tap} tap`,
    async () => {
      const tiny = await writeTinyQwen2Vl(join(root, tap), { attention: 'group-query-attention', layers: 2, heads: 4, kvHeads: 2, seed: 41 });
      const files = nodeFileSource(tiny.dir);
      const model = await assembleModel({ files, sessions: { ...webSessionFactory(files), fusedAttentionTap: tap }, provider: 'onnxruntime-web' });
      if (model.decoder.fusedAttentionTap !== tap) throw new Error(`expected the ${tap} tap, got ${model.decoder.fusedAttentionTap}`);
      return { model, image: createTestImage(56, 56), promptText: tiny.promptText, selector: createAdsSelector(), decoder: new MockDecoder() };
    },
    capabilities,
  );
