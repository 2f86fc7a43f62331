import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttentionUnavailableError, createSignalTrigger, generateICoT, ModelConfigError, ModelFilesError } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { addExternalDataReference, copyModel, fixturePath, loadOracle, replaceSoftmaxWithExpLogSoftmax } from '@icot/testing';
import { loadOnnxModel, SUPPORTED_ATTENTION_SHAPES } from '../src/index.js';

describe('loading errors name the problem and the fix', () => {
  it('a folder that does not exist', async () => {
    await expect(loadOnnxModel('/nonexistent/model-folder')).rejects.toThrow(ModelFilesError);
    await expect(loadOnnxModel('/nonexistent/model-folder')).rejects.toThrow(/does not exist/);
  });

  it('a partial folder lists every missing file', async () => {
    const { dir, cleanup } = await copyModel('tiny-qwen2-vl');
    try {
      await unlink(join(dir, 'tokenizer.json'));
      await unlink(join(dir, 'onnx', 'embed_tokens.onnx'));
      const error = await loadOnnxModel(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFilesError);
      expect((error as ModelFilesError).missing).toEqual(['tokenizer.json', 'onnx/embed_tokens.onnx']);
      expect((error as Error).message).toMatch(/tokenizer\.json.*embed_tokens\.onnx/);
    } finally {
      await cleanup();
    }
  });

  it('a weight variant that is not there lists the ones that are', async () => {
    const error = await loadOnnxModel(fixturePath('tiny-qwen2-vl'), { dtype: 'q4' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as Error).message).toMatch(/decoder_model_merged_q4\.onnx/);
    expect((error as Error).message).toMatch(/has: .*decoder_model_merged\.onnx/);
    expect((error as ModelFilesError).hint).toMatch(/--dtype/);
  });

  it('an unsupported model type', async () => {
    const { dir, cleanup } = await copyModel('tiny-qwen2-vl');
    try {
      await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama' }));
      await expect(loadOnnxModel(dir)).rejects.toThrow(ModelConfigError);
      await expect(loadOnnxModel(dir)).rejects.toThrow(/qwen2_vl/);
    } finally {
      await cleanup();
    }
  });

  it('a corrupt graph file', async () => {
    const { dir, cleanup } = await copyModel('tiny-qwen2-vl');
    try {
      const path = join(dir, 'onnx', 'decoder_model_merged.onnx');
      await writeFile(path, new Uint8Array([8, 7, 0x3a, 0xff, 0xff]));
      await expect(loadOnnxModel(dir)).rejects.toThrow(ModelFilesError);
    } finally {
      await cleanup();
    }
  });

  it('a decoder whose attention cannot be tapped loads for plain decoding and fails clearly for ADS', async () => {
    const { dir, cleanup } = await copyModel('tiny-qwen2-vl');
    const oracle = loadOracle('tiny-qwen2-vl');
    try {
      await replaceSoftmaxWithExpLogSoftmax(join(dir, 'onnx', 'decoder_model_merged.onnx'));
      const model = await loadOnnxModel(dir);
      expect(model.capabilities.attention).toBe(false);
      expect(model.capabilities.attentionUnavailableReason).toContain(SUPPORTED_ATTENTION_SHAPES);
      const image = await model.encodeImage(await readImageFile(fixturePath('tiny-qwen2-vl', 'image.png')));
      const base = {
        model,
        prompt: { text: oracle.prompt_text, images: [image] },
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: 2 }),
        maxNewTokens: oracle.max_new_tokens,
      };
      const plain = await generateICoT({ ...base, maxInsertions: 0 });
      expect(plain.tokens).toEqual(oracle.plain_greedy_tokens); // Exp(LogSoftmax) is the same function
      const error = await generateICoT(base).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AttentionUnavailableError);
      expect((error as Error).message).toMatch(/Supported shapes/);
      await model.dispose();
    } finally {
      await cleanup();
    }
  });

  it('missing external data files are named', async () => {
    const { dir, cleanup } = await copyModel('tiny-qwen2-vl');
    try {
      await addExternalDataReference(join(dir, 'onnx', 'decoder_model_merged.onnx'), 'decoder_model_merged.onnx_data');
      const error = await loadOnnxModel(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ModelFilesError);
      expect((error as Error).message).toMatch(/onnx\/decoder_model_merged\.onnx_data/);
    } finally {
      await cleanup();
    }
  });
});
