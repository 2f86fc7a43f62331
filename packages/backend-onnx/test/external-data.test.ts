import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { parseOnnxModel } from '@icot/onnx-proto';
import { copyModel, fixturePath, loadOracle, moveWeightsToExternalData } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

describe('decoders with external weight files', () => {
  it('are tapped in memory, read their .onnx_data untouched and still reproduce the reference run', async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const copy = await copyModel('tiny-qwen2-vl');
    try {
      const decoder = join(copy.dir, 'onnx', 'decoder_model_merged.onnx');
      const moved = await moveWeightsToExternalData(decoder, 'decoder_model_merged.onnx_data');
      expect(moved).toBeGreaterThan(100_000);
      expect(parseOnnxModel(new Uint8Array(await readFile(decoder))).externalDataFiles).toEqual(new Set(['decoder_model_merged.onnx_data']));
      const hash = async () => createHash('sha256').update(await readFile(`${decoder}_data`)).digest('hex');
      const before = await hash();

      const model = await loadOnnxModel(copy.dir);
      expect(model.capabilities.attention).toBe(true);
      const image = await model.encodeImage(await readImageFile(fixturePath('tiny-qwen2-vl', 'image.png')));
      const result = await generateICoT({
        model,
        prompt: { text: oracle.prompt_text, images: [image] },
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
        k: oracle.k,
        maxInsertions: oracle.max_insertions,
        maxNewTokens: oracle.max_new_tokens,
      });
      expect(result.tokens).toEqual(oracle.tokens);
      expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
      await model.dispose();
      expect(await hash()).toBe(before);
    } finally {
      await copy.cleanup();
    }
  });
});
