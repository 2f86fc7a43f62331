import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '@icot/core';
import { readIdefics3Config } from './config.js';

// The image facts of HuggingFaceTB/SmolVLM-256M-Instruct's config.json.
const smolvlm256m = { model_type: 'idefics3', image_token_id: 49190, scale_factor: 4, vision_config: { image_size: 512, patch_size: 16, hidden_size: 768 }, text_config: { model_type: 'llama', hidden_size: 576 } };

describe('readIdefics3Config', () => {
  it('reads the image token and the pixel shuffle: 64 tokens per 512 px tile for SmolVLM-256M', () => {
    expect(readIdefics3Config(smolvlm256m, { image_seq_len: 64 })).toEqual({ modelType: 'idefics3', imageTokenId: 49190, scaleFactor: 4, imageSize: 512, patchSize: 16, tokensPerSide: 8, imageSeqLen: 64 });
  });

  it('names a missing field, a shuffle that does not divide the patch grid, and a processor that disagrees', () => {
    expect(() => readIdefics3Config({ ...smolvlm256m, scale_factor: undefined })).toThrow(/scale_factor/);
    expect(() => readIdefics3Config({ ...smolvlm256m, scale_factor: 3 })).toThrow(ModelConfigError);
    expect(() => readIdefics3Config(smolvlm256m, { image_seq_len: 169 })).toThrow(/image_seq_len 169/);
  });
});
