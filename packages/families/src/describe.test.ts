import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@icot/testing';
import { ModelConfigError } from '@icot/core';
import { describeChameleon, describeQwen2Vl, readContextLength, squarePatchGrid } from './describe.js';

const noTokenizer = { tokenizer: { encode: () => [], tokenToId: () => undefined } };
const json = (name: 'tiny-qwen2-vl' | 'tiny-chameleon', file: string) => JSON.parse(readFileSync(fixturePath(name, file), 'utf8')) as Record<string, unknown>;

describe('family descriptions', () => {
  it('read each family from its config', () => {
    const qwen = describeQwen2Vl(json('tiny-qwen2-vl', 'config.json'), json('tiny-qwen2-vl', 'generation_config.json'), () => undefined, noTokenizer);
    expect(qwen).toMatchObject({ modelType: 'qwen2_vl', hiddenSize: 64, numKeyValueHeads: 2, headDim: 16, spatialMergeSize: 2, eosTokenIds: [482, 480] });
    expect(qwen.rope).toEqual({ theta: 10000, headDim: 16, rotaryDim: 16, mropeSection: [2, 3, 3], layout: 'half' });
    const chameleon = describeChameleon(json('tiny-chameleon', 'config.json'), {}, (id) => (id === 423 ? '<image>' : undefined), noTokenizer);
    expect(chameleon).toMatchObject({ modelType: 'chameleon', vocabSize: 491, eosTokenIds: [422] });
    expect(chameleon.family.imagePlaceholder).toBe('<image>');
  });
});

describe('readContextLength', () => {
  it("reads the text model's max_position_embeddings, nested first, and states none when it is absent", () => {
    const qwen = json('tiny-qwen2-vl', 'config.json');
    expect(describeQwen2Vl(qwen, {}, () => undefined, noTokenizer).maxContextTokens).toBe(4096);
    expect(describeChameleon(json('tiny-chameleon', 'config.json'), {}, () => undefined, noTokenizer).maxContextTokens).toBe(4096);
    expect(readContextLength({ max_position_embeddings: 32768, text_config: { max_position_embeddings: 8192 } })).toBe(8192);
    expect(readContextLength({ max_position_embeddings: 2048, text_config: { hidden_size: 8 } })).toBe(2048);
    const { max_position_embeddings: _dropped, ...without } = qwen;
    expect(describeQwen2Vl(without, {}, () => undefined, noTokenizer).maxContextTokens).toBeUndefined();
  });

  it('rejects a value that is not a positive integer, naming it', () => {
    for (const bad of [0, -1, 4096.5, '4096'])
      expect(() => readContextLength({ max_position_embeddings: bad })).toThrow(ModelConfigError);
    expect(() => readContextLength({ text_config: { max_position_embeddings: 0 } })).toThrow(/max_position_embeddings is 0/);
  });
});

describe('squarePatchGrid', () => {
  it('finds the side of a square grid and rejects the rest', () => {
    expect(squarePatchGrid(576)).toEqual({ rows: 24, cols: 24 });
    expect(() => squarePatchGrid(577)).toThrow(/not a square patch grid/);
  });
});
