import { describe, expect, it } from 'vitest';
import { contiguousCacheIndices, OptionError } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { describeDecoderConformance } from '@icot/testing';
import { createInputInsertionDecoder } from './input-decoder.js';

describeDecoderConformance('input insertion (grid)', () => createInputInsertionDecoder(), async () => ({
  model: createToyModel(),
  image: createTestImage(),
  promptText: 'look at <image> please',
}), { kvCache: false, inputInsertion: 'equal' });
describeDecoderConformance('input insertion (source layout)', () => createInputInsertionDecoder({ layout: 'source' }), async () => ({
  model: createToyModel(),
  image: createTestImage(),
  promptText: 'look at <image> please',
}), { kvCache: false, inputInsertion: 'equal' });

describeDecoderConformance('input insertion (source layout) on a toy model with tiled images', () => createInputInsertionDecoder({ layout: 'source' }), async () => ({
  model: createToyModel({ grid: { rows: 2, cols: 3 }, tiles: { rows: 1, cols: 2 } }),
  image: createTestImage(),
  promptText: 'look at <image> please',
}), { kvCache: false, inputInsertion: 'equal' });

describe('InputInsertionDecoder', () => {
  it('feeds exactly the family block as one step', async () => {
    const model = createToyModel();
    const image = await model.encodeImage(createTestImage());
    const session = model.createSession();
    const result = await createInputInsertionDecoder().insert({ model, session, image, cacheIndices: contiguousCacheIndices(0, 16), imagePositions: { axes: 1, length: 16, data: Int32Array.from({ length: 16 }, (_, i) => i) }, patches: [2, 5], position: 40, logits: new Float32Array(8) });
    const expected = model.family.insertionBlock({ image, patches: [2, 5], start: 40, layout: 'grid' });
    expect(model.steps).toHaveLength(1);
    expect(model.steps[0]!.segments).toEqual(expected.segments);
    expect(model.steps[0]!.positions).toEqual(expected.positions);
    expect(result.nextPosition).toBe(expected.nextPosition);
    expect(result.insertedTokens).toBe(2);
  });

  it('rejects an unknown layout', () => {
    expect(() => createInputInsertionDecoder({ layout: 'diagonal' as never })).toThrow(OptionError);
  });
});
