import { describe, expect, it } from 'vitest';
import { createTestImage, createToyModel } from '@icot/core/test';
import { createSequentialFamily } from './sequential-family.js';

describe('createSequentialFamily', () => {
  const defaults = { k: 4, insertAfterPrompt: false, excludeSelected: false };
  it('lays an image out as one run between its framing tokens', async () => {
    const image = await createToyModel({ grid: { rows: 2, cols: 3 } }).encodeImage(createTestImage());
    const family = createSequentialFamily({ name: 't', imageTokenId: 9, imagePlaceholder: '<i>', imagePrefix: [7], imageSuffix: [8], defaults });
    const out = family.expandPrompt([1, 9, 2], [image]);
    expect(Array.from(out.images[0]!.cacheIndices)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(out.textTokenIds).toEqual([1, 7, 8, 2]);
  });

  it('with a row suffix, puts its tokens after each row and maps every patch past them', async () => {
    const image = await createToyModel({ grid: { rows: 2, cols: 3 } }).encodeImage(createTestImage());
    const family = createSequentialFamily({ name: 't', imageTokenId: 9, imagePlaceholder: '<i>', imagePrefix: [7], imageSuffix: [8], rowSuffix: [5], defaults });
    const out = family.expandPrompt([1, 9, 2], [image]);
    // [1, 7] [p0 p1 p2] [5] [p3 p4 p5] [5, 8, 2]
    expect(Array.from(out.images[0]!.cacheIndices)).toEqual([2, 3, 4, 6, 7, 8]);
    expect(out.segments.map((s) => (s.type === 'tokens' ? s.ids : s.patches))).toEqual([[1, 7], [0, 1, 2], [5], [3, 4, 5], [5, 8, 2]]);
    // an inserted block carries only the selected patches
    expect(family.insertionBlock({ image, patches: [1, 4], start: 20, layout: 'grid' }).segments).toEqual([
      { type: 'tokens', ids: [7] },
      { type: 'image', image, patches: [1, 4] },
      { type: 'tokens', ids: [8] },
    ]);
  });
});
