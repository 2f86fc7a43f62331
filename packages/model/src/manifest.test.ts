import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyQwen2Vl } from '@icot/testing/models';
import { modelFileManifest } from './manifest.js';
import { nodeFileSource } from './node.js';

const work = mkdtempSync(join(tmpdir(), 'icot-manifest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('modelFileManifest', () => {
  it('lists the configs, the tokenizer and the graphs of the dtype asked for, with their external data', async () => {
    const dir = join(work, 'qwen');
    await writeTinyQwen2Vl(dir);
    const fp32 = await modelFileManifest(nodeFileSource(dir));
    expect(fp32.slice(0, 4)).toEqual(['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    expect(fp32.filter((p) => p.startsWith('onnx/'))).toEqual(['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx']);
    writeFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx_data'), 'weights');
    writeFileSync(join(dir, 'onnx', 'decoder_model_merged_q4.onnx'), 'another variant: not listed for fp32');
    const withData = await modelFileManifest(nodeFileSource(dir));
    expect(withData).toContain('onnx/decoder_model_merged.onnx_data');
    expect(withData).not.toContain('onnx/decoder_model_merged_q4.onnx');
  });

  it('fails like loading does when a graph of the dtype is missing', async () => {
    const dir = join(work, 'qwen-q4');
    await writeTinyQwen2Vl(dir);
    await expect(modelFileManifest(nodeFileSource(dir), { dtype: 'q4' })).rejects.toMatchObject({ code: 'model-files' });
  });
});
