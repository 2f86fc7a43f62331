import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '@icot/testing';
import { describeChameleon, describeQwen2Vl, squarePatchGrid } from './describe.js';

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

describe('squarePatchGrid', () => {
  it('finds the side of a square grid and rejects the rest', () => {
    expect(squarePatchGrid(576)).toEqual({ rows: 24, cols: 24 });
    expect(() => squarePatchGrid(577)).toThrow(/not a square patch grid/);
  });
});
