import { describe, expect, it } from 'vitest';
import type { Box, EncodedImage } from '@icot/core';
import { overlapFraction, patchesForBoxes } from './patches.js';

/** A single-grid image of `rows x cols` patches of 10 x 10 px. */
function gridImage(rows: number, cols: number): EncodedImage {
  return {
    grid: { rows, cols },
    patchCount: rows * cols,
    size: { width: cols * 10, height: rows * 10 },
    patchBox: (p) => ({ x: (p % cols) * 10, y: Math.floor(p / cols) * 10, width: 10, height: 10 }),
  };
}

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });

describe('overlapFraction', () => {
  it('is the share of the patch inside the box', () => {
    expect(overlapFraction(box(0, 0, 10, 10), box(0, 0, 10, 10))).toBe(1);
    expect(overlapFraction(box(0, 0, 10, 10), box(5, 0, 100, 100))).toBe(0.5);
    expect(overlapFraction(box(0, 0, 10, 10), box(5, 5, 100, 100))).toBe(0.25);
    expect(overlapFraction(box(0, 0, 10, 10), box(10, 0, 5, 5))).toBe(0); // touching edges only
    expect(overlapFraction(box(0, 0, 10, 10), box(2, 2, 1, 1))).toBeCloseTo(0.01, 12);
  });
});

describe('patchesForBoxes', () => {
  // 4 x 4 patches; the box covers columns 1-2 of rows 1-2 fully and half of column 3 of those rows
  const image = gridImage(4, 4);
  const grounded = [box(10, 10, 25, 20)];
  const none = new Set<number>();

  it('overlap: the fully covered patches first, then the partly covered, then by attention', () => {
    const scores = Float32Array.from({ length: 16 }, (_, p) => p / 100);
    expect(patchesForBoxes(image, grounded, { k: 4, exclude: none, scores, rule: 'overlap', minCoverage: 0.5 })).toEqual({ indices: [5, 6, 9, 10], grounded: 4 });
    // 6 patches overlap (4 fully, 7 and 11 by half); k = 8 adds the two most attended others (15, 14)
    expect(patchesForBoxes(image, grounded, { k: 8, exclude: none, scores, rule: 'overlap', minCoverage: 0.5 })).toEqual({ indices: [5, 6, 7, 9, 10, 11, 14, 15], grounded: 6 });
  });

  it('overlap: ties in overlap go to the more attended patch, then the lower index', () => {
    const scores = new Float32Array(16);
    scores[10] = 0.9;
    scores[6] = 0.5;
    expect(patchesForBoxes(image, grounded, { k: 2, exclude: none, scores, rule: 'overlap', minCoverage: 0.5 }).indices).toEqual([6, 10]);
    expect(patchesForBoxes(image, grounded, { k: 2, exclude: none, rule: 'overlap', minCoverage: 0.5 }).indices).toEqual([5, 6]);
  });

  it('skips excluded patches, and says when no chosen patch overlaps a box', () => {
    const scores = Float32Array.from({ length: 16 }, (_, p) => p / 100);
    expect(patchesForBoxes(image, grounded, { k: 3, exclude: new Set([5, 6]), scores, rule: 'overlap', minCoverage: 0.5 })).toEqual({ indices: [9, 10, 11], grounded: 3 });
    const covered = new Set([5, 6, 7, 9, 10, 11]);
    expect(patchesForBoxes(image, grounded, { k: 2, exclude: covered, scores, rule: 'overlap', minCoverage: 0.5 })).toEqual({ indices: [14, 15], grounded: 0 });
  });

  it('covered: the patches covered by at least minCoverage, the most attended when more than k, possibly fewer than k', () => {
    const scores = Float32Array.from({ length: 16 }, (_, p) => (p === 7 ? 1 : p / 100));
    expect(patchesForBoxes(image, grounded, { k: 16, exclude: none, scores, rule: 'covered', minCoverage: 0.5 })).toEqual({ indices: [5, 6, 7, 9, 10, 11], grounded: 6 });
    expect(patchesForBoxes(image, grounded, { k: 16, exclude: none, scores, rule: 'covered', minCoverage: 0.75 }).indices).toEqual([5, 6, 9, 10]);
    expect(patchesForBoxes(image, grounded, { k: 2, exclude: none, scores, rule: 'covered', minCoverage: 0.5 }).indices).toEqual([7, 11]);
    expect(patchesForBoxes(image, [box(1, 1, 3, 3)], { k: 4, exclude: none, scores, rule: 'covered', minCoverage: 0.5 })).toEqual({ indices: [], grounded: 0 });
  });

  it('takes each patch at its largest overlap with any of several boxes', () => {
    const boxes = [box(0, 0, 10, 10), box(30, 30, 5, 10)];
    expect(patchesForBoxes(image, boxes, { k: 16, exclude: none, rule: 'covered', minCoverage: 0.5 }).indices).toEqual([0, 15]);
    expect(patchesForBoxes(image, boxes, { k: 2, exclude: none, rule: 'overlap', minCoverage: 0.5 }).indices).toEqual([0, 15]);
  });

  it('measures tiles and a global view in original-image pixels', () => {
    // 2 tiles of 1 x 2 patches side by side (20 x 10 px each) and a 1 x 1 global view of the whole 40 x 10 image
    const tiled: EncodedImage = {
      grid: { rows: 1, cols: 4 },
      patchCount: 5,
      size: { width: 40, height: 10 },
      tiles: [
        { grid: { rows: 1, cols: 2 }, firstPatch: 0, box: box(0, 0, 20, 10), place: { row: 0, col: 0 } },
        { grid: { rows: 1, cols: 2 }, firstPatch: 2, box: box(20, 0, 20, 10), place: { row: 0, col: 1 } },
        { grid: { rows: 1, cols: 1 }, firstPatch: 4, box: box(0, 0, 40, 10), place: 'global' },
      ],
      patchBox: (p) => (p < 4 ? box(p * 10, 0, 10, 10) : box(0, 0, 40, 10)),
    };
    expect(patchesForBoxes(tiled, [box(20, 0, 10, 10)], { k: 2, exclude: none, rule: 'overlap', minCoverage: 0.5 })).toEqual({ indices: [2, 4], grounded: 2 });
  });
});
