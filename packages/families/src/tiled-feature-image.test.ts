import { describe, expect, it } from 'vitest';
import { imageTiles, patchCell } from '@icot/core';
import { TiledFeatureImage } from './tiled-feature-image.js';

describe('TiledFeatureImage', () => {
  // a 2x1 tiling of a 100x40 image, 2x2 patches per tile, and the global view
  const grid = { rows: 2, cols: 2 };
  const tiles = [
    { grid, firstPatch: 0, box: { x: 0, y: 0, width: 50, height: 40 }, place: { row: 0, col: 0 } },
    { grid, firstPatch: 4, box: { x: 50, y: 0, width: 50, height: 40 }, place: { row: 0, col: 1 } },
    { grid, firstPatch: 8, box: { x: 0, y: 0, width: 100, height: 40 }, place: 'global' as const },
  ];
  const image = new TiledFeatureImage(new Float32Array(12 * 3), 3, tiles, { width: 100, height: 40 });

  it('numbers patches tile after tile and boxes each in its tile', () => {
    expect(image.patchCount).toBe(12);
    expect(image.grid).toEqual({ rows: 2, cols: 4 });
    expect(imageTiles(image)).toBe(tiles);
    expect(patchCell(image, 7)).toEqual({ tile: 1, row: 1, col: 1 });
    expect(image.patchBox(7)).toEqual({ x: 75, y: 20, width: 25, height: 20 });
    expect(image.patchBox(9)).toEqual({ x: 50, y: 0, width: 50, height: 20 });
    expect('crop' in image).toBe(false);
  });

  it('refuses tiles that leave gaps and features of the wrong size', () => {
    expect(() => new TiledFeatureImage(new Float32Array(12 * 3), 3, [tiles[0]!, tiles[2]!], { width: 100, height: 40 })).toThrow(/consecutive/);
    expect(() => new TiledFeatureImage(new Float32Array(5), 3, tiles, { width: 100, height: 40 })).toThrow(/values/);
  });
});
