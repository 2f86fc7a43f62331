import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFilesError, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { parseOnnxModel } from '@icot/onnx-proto';
import { describeDecoderConformance, describeModelConformance, TINY_DTYPE_VARIANTS, writeTinyQwen2Vl, type TinyModelInfo, type WeightDtype } from '@icot/testing';
import { loadOnnxModel, type AssembledModel } from '../src/index.js';

// fp16, q4 (MatMulNBits) and q4f16 decoders of every attention shape: loading by dtype, the model
// conformance suite (taps, cached decoding, the whole ICoT loop deterministic) at the dtype's
// tolerance, and KV-cache insertion on float16 caches. The tapped rows are checked against
// softmax(QK^T/sqrt(d)) in @icot/onnx-decoding's attention-tap tests.

const root = await mkdtemp(join(tmpdir(), 'icot-dtypes-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const half = (dtype: WeightDtype): boolean => dtype === 'fp16' || dtype === 'q4f16';

TINY_DTYPE_VARIANTS.forEach((variant, index) => {
  const dtype = variant.settings.dtype!;
  describe(variant.name, () => {
    let info: TinyModelInfo;
    beforeAll(async () => {
      info = await variant.write(join(root, String(index)), variant.settings);
    });

    it(`loads with dtype '${dtype}': onnx/*_${dtype}.onnx, ${half(dtype) ? 'float16' : 'float32'} activations and cache${dtype.startsWith('q4') ? ', MatMulNBits weights' : ''}`, async () => {
      const model = (await loadOnnxModel(info.dir, { dtype })) as AssembledModel;
      expect(model.decoder.mainInputType).toBe(half(dtype) ? 'float16' : 'float32');
      expect(model.decoder.pastType).toBe(half(dtype) ? 'float16' : 'float32');
      expect(model.decoder.logits).toMatchObject({ rows: 'last', how: 'sliced-before-projection' });
      const graph = parseOnnxModel(new Uint8Array(await readFile(join(info.dir, 'onnx', `decoder_model_merged_${dtype}.onnx`))));
      expect(graph.nodes.some((n) => n.opType === 'MatMulNBits' && n.domain === 'com.microsoft')).toBe(dtype.startsWith('q4'));
      await model.dispose();
      // the folder has no fp32 files: the default dtype fails and names what exists
      const error = await loadOnnxModel(info.dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFilesError);
      expect((error as Error).message).toContain(`decoder_model_merged_${dtype}.onnx`);
    });
  });

  describeModelConformance(
    `onnx / ${variant.name}`,
    async () => {
      const info = await variant.write(join(root, `conformance-${index}`), variant.settings);
      return {
        model: (await loadOnnxModel(info.dir, { dtype })) as VisionLanguageModelV2,
        image: createTestImage(150, 120),
        promptText: info.promptText,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
      };
    },
    { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false, dtype },
  );
});

describe('KV-cache insertion on float16 caches', () => {
  for (const dtype of ['fp16', 'q4f16'] as const) {
    // one layer: kv-rebind gives input insertion's logits (to the dtype's tolerance), kv-copy does not
    let loaded: Promise<{ model: VisionLanguageModelV2; promptText: string }> | undefined;
    afterAll(async () => (await loaded)?.model.dispose());
    const setup = async () => {
      loaded ??= writeTinyQwen2Vl(join(root, `kv-${dtype}`), { layers: 1, attention: 'group-query-attention', seed: 43, dtype }).then(async (info) => {
        const model = (await loadOnnxModel(info.dir, { dtype })) as AssembledModel;
        expect(model.decoder.pastType).toBe('float16');
        return { model, promptText: info.promptText };
      });
      return { ...(await loaded), image: createTestImage(150, 120) };
    };
    describeDecoderConformance(`kv-rebind on onnx / one-layer ${dtype} Qwen2-VL-style GQA model`, () => createKvInsertionDecoder({ mode: 'rebind' }), setup, { kvCache: true, inputInsertion: 'equal', dtype });
    describeDecoderConformance(`kv-copy on onnx / one-layer ${dtype} Qwen2-VL-style GQA model`, () => createKvInsertionDecoder({ mode: 'copy' }), setup, { kvCache: true, inputInsertion: 'different', dtype });
  }
});
