import { describe, expect, it } from 'vitest';
import { createTestImage, createToyModel } from '@icot/core/test';
import { gridRegions } from './regions.js';

describe('gridRegions', () => {
  it('cuts a grid into square blocks in raster order, keeping what is left at the edges', async () => {
    const image = await createToyModel({ grid: { rows: 3, cols: 5 } }).encodeImage(createTestImage(50, 30));
    const regions = gridRegions(image, 2);
    expect(regions.map((r) => r.patches)).toEqual([[0, 1, 5, 6], [2, 3, 7, 8], [4, 9], [10, 11], [12, 13], [14]]);
    expect(regions.map((r) => [r.tile, r.row, r.col])).toEqual([[0, 0, 0], [0, 0, 2], [0, 0, 4], [0, 2, 0], [0, 2, 2], [0, 2, 4]]);
    expect(gridRegions(image, 1)).toHaveLength(15);
    expect(gridRegions(image, 9).map((r) => r.patches)).toEqual([Array.from({ length: 15 }, (_, i) => i)]);
  });

  it('cuts each tile of a tiled image on its own, and covers every patch once', async () => {
    const image = await createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 1, cols: 2 } }).encodeImage(createTestImage(40, 20));
    expect(image.patchCount).toBe(12); // two tiles and the global view
    const regions = gridRegions(image, 2);
    expect(regions.map((r) => [r.tile, r.patches])).toEqual([[0, [0, 1, 2, 3]], [1, [4, 5, 6, 7]], [2, [8, 9, 10, 11]]]);
    const all = gridRegions(image, 1).flatMap((r) => r.patches);
    expect(all).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });
});
