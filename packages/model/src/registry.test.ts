import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '@icot/core';
import { EMBEDDINGS_GRAPHS, FAMILIES, familyFor, familyGraphs, supportedModelTypes, TOKEN_IDS_GRAPHS } from './registry.js';

describe('the family registry', () => {
  it('maps every model type to exactly one family', () => {
    const types = supportedModelTypes();
    expect(new Set(types).size).toBe(types.length);
    for (const [kind, entry] of Object.entries(FAMILIES)) for (const type of entry.modelTypes) expect(familyFor(type, 'm', 'test').kind).toBe(kind);
  });

  it('gives each family the graphs its decoder input needs', () => {
    expect(familyGraphs(FAMILIES['qwen2-vl'])).toBe(EMBEDDINGS_GRAPHS);
    expect(familyGraphs(FAMILIES.chameleon)).toBe(TOKEN_IDS_GRAPHS);
    expect(familyGraphs(FAMILIES.idefics3)).toBe(EMBEDDINGS_GRAPHS);
    expect(FAMILIES.idefics3.tiledImages).toBe(true);
  });

  it('names the model types a backend runs when one is not among them', () => {
    expect(() => familyFor('llama', 'some/model', 'test')).toThrow(ModelConfigError);
    expect(() => familyFor('chameleon', 'some/model', 'test', (e) => e.decoderInput === 'embeddings')).toThrow(/it runs qwen2_vl, qwen2_5_vl, llava, idefics3, smolvlm\)/);
  });
});
