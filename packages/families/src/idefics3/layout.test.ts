import { describe, expect, it } from 'vitest';
import { PromptError } from '@icot/core';
import { idefics3Tiles, idefics3TokenBox, idefics3TokenBoxes, idefics3TokenCount, idefics3TokenOrigin } from './layout.js';
import { planIdefics3Image, readIdefics3PreprocessorConfig } from './preprocess.js';

const tiny = readIdefics3PreprocessorConfig({ size: { longest_edge: 128 }, max_image_size: { longest_edge: 64 } });
const photo = planIdefics3Image({ width: 640, height: 480 }, tiny); // 128x128 encoder image: 2x2 tiles + global
const side = 4; // 64 px tiles, 8 px patches, pixel shuffle 2

describe('Idefics3 image token origins and boxes', () => {
  it('orders tokens by frame (tiles in raster order, then the global image), raster order within a frame', () => {
    expect(idefics3TokenCount(photo, side)).toBe(5 * 16);
    expect(idefics3TokenOrigin(photo, side, 0)).toEqual({ frame: 0, tile: { row: 0, col: 0 }, row: 0, col: 0 });
    expect(idefics3TokenOrigin(photo, side, 16 + 7)).toEqual({ frame: 1, tile: { row: 0, col: 1 }, row: 1, col: 3 });
    expect(idefics3TokenOrigin(photo, side, 3 * 16 + 15)).toEqual({ frame: 3, tile: { row: 1, col: 1 }, row: 3, col: 3 });
    expect(idefics3TokenOrigin(photo, side, 4 * 16 + 5)).toEqual({ frame: 4, tile: undefined, row: 1, col: 1 });
    expect(() => idefics3TokenOrigin(photo, side, 80)).toThrow(PromptError);
  });

  it('maps a tile token to its cell of the tile in original pixels, a global token to its cell of the whole image', () => {
    // The 128x128 encoder image is the 640x480 photo scaled by 1/5 across and 1/3.75 down.
    expect(idefics3TokenBox(photo, side, 0)).toEqual({ x: 0, y: 0, width: 80, height: 60 });
    expect(idefics3TokenBox(photo, side, 16 + 7)).toEqual({ x: 320 + 3 * 80, y: 60, width: 80, height: 60 });
    expect(idefics3TokenBox(photo, side, 2 * 16)).toEqual({ x: 0, y: 240, width: 80, height: 60 });
    expect(idefics3TokenBox(photo, side, 4 * 16 + 5)).toEqual({ x: 160, y: 120, width: 160, height: 120 });
  });

  it('tile tokens tile the original image exactly once, and so do the global tokens', () => {
    for (const plan of [photo, planIdefics3Image({ width: 333, height: 500 }, tiny), planIdefics3Image({ width: 640, height: 160 }, tiny)]) {
      const boxes = idefics3TokenBoxes(plan, side);
      const tiles = plan.grid.rows * plan.grid.cols * 16;
      const cover = (list: typeof boxes): number[] => {
        const hits = new Array<number>(plan.size.width * plan.size.height).fill(0);
        for (const b of list)
          for (let y = Math.round(b.y); y < Math.round(b.y + b.height); y++) for (let x = Math.round(b.x); x < Math.round(b.x + b.width); x++) hits[y * plan.size.width + x]! += 1;
        let lo = Infinity;
        let hi = -Infinity;
        for (const h of hits) [lo, hi] = [Math.min(lo, h), Math.max(hi, h)];
        return [lo, hi];
      };
      expect(cover(boxes.slice(0, tiles))).toEqual([1, 1]);
      expect(cover(boxes.slice(tiles))).toEqual([1, 1]);
    }
  });

  it('an image that is one frame has only whole-image tokens', () => {
    const single = planIdefics3Image({ width: 61, height: 47 }, { ...tiny, longestEdge: 64 });
    expect(single.grid).toEqual({ rows: 0, cols: 0 });
    expect(idefics3TokenBoxes(single, side)[15]).toEqual({ x: 3 * 61 / 4, y: 3 * 47 / 4, width: 61 / 4, height: 47 / 4 });
  });

  it('describes each frame as a tile: token grid, first token, original-image box, place', () => {
    const tiles = idefics3Tiles(photo, side);
    expect(tiles).toHaveLength(5);
    expect(tiles[1]).toEqual({ grid: { rows: 4, cols: 4 }, firstPatch: 16, box: { x: 320, y: 0, width: 320, height: 240 }, place: { row: 0, col: 1 } });
    expect(tiles[4]).toEqual({ grid: { rows: 4, cols: 4 }, firstPatch: 64, box: { x: 0, y: 0, width: 640, height: 480 }, place: 'global' });
  });
});
