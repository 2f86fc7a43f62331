import { describe, expect, it } from 'vitest';
import type { Box, EncodedImage } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { attentionPeaks, boxIou, boxNms, maskBox, maskRegions, pointGrid, stabilityScore, type BinaryMask } from './masks.js';

function gridImage(rows: number, cols: number, pw: number, ph: number): EncodedImage {
  return { grid: { rows, cols }, patchCount: rows * cols, size: { width: cols * pw, height: rows * ph }, patchBox: (p: number): Box => ({ x: (p % cols) * pw, y: Math.floor(p / cols) * ph, width: pw, height: ph }) };
}

function maskFrom(rows: readonly string[]): BinaryMask {
  return { width: rows[0]!.length, height: rows.length, data: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)) };
}

describe('maskRegions', () => {
  // 2 x 2 patches of 2 x 2 pixels
  const mask = maskFrom(['###.', '#...', '....', '...#']);
  it('takes the patches the mask covers by at least the coverage', () => {
    // patch 0: 3/4, patch 1: 1/4, patch 2: 0, patch 3: 1/4
    expect(maskRegions(gridImage(2, 2, 2, 2), mask)).toEqual([[0]]);
    expect(maskRegions(gridImage(2, 2, 2, 2), mask, 0.25)).toEqual([[0, 1, 3]]);
    expect(maskRegions(gridImage(2, 2, 2, 2), mask, 1)).toEqual([]);
  });

  it('uses pixel centres for fractional boxes and the centre pixel for boxes smaller than a pixel', () => {
    // 3 patches of 4/3 px over a 4 x 1 mask '##..': patch 0 [0, 1.33) holds pixel 0 (centre 0.5): in;
    // patch 1 [1.33, 2.67) holds pixels 1 and 2 (centres 1.5, 2.5), one inside: half, in; patch 2 holds pixel 3: out
    const image = gridImage(1, 3, 4 / 3, 1);
    expect(maskRegions(image, maskFrom(['##..']))).toEqual([[0, 1]]);
    const tiny: EncodedImage = { ...gridImage(1, 1, 1, 1), patchBox: () => ({ x: 1.2, y: 0.1, width: 0.2, height: 0.2 }) };
    expect(maskRegions(tiny, maskFrom(['.#']))).toEqual([[0]]);
  });

  it('returns tile patches and global-view patches as separate regions', async () => {
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 2, cols: 2 } });
    const image = await model.encodeImage(createTestImage(8, 8));
    const left = maskFrom(Array.from({ length: 8 }, () => '####....'));
    expect(maskRegions(image, left)).toEqual([
      [0, 1, 2, 3, 8, 9, 10, 11],
      [16, 18],
    ]);
  });
});

describe('SAM helpers', () => {
  it("stabilityScore is the IoU of the masks thresholded at +offset and -offset (SAM's calculate_stability_score)", () => {
    expect(stabilityScore([2, 0.5, -0.5, -2], 0, 1)).toBeCloseTo(1 / 3);
    expect(stabilityScore([-3, -2], 0, 1)).toBe(0);
    expect(stabilityScore([5, 5], 0, 1)).toBe(1);
  });

  it('maskBox gives inclusive ends; boxIou and boxNms follow torchvision', () => {
    expect(maskBox(maskFrom(['....', '.##.', '..#.']))).toEqual([1, 1, 2, 2]);
    expect(maskBox(maskFrom(['..', '..']))).toBeUndefined();
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150);
    expect(boxIou([0, 0, 1, 1], [2, 2, 3, 3])).toBe(0);
    // 1 overlaps 0 by 0.33 (kept at 0.5), 2 is 0 exactly (dropped), scores order 2 first
    expect(boxNms([[0, 0, 10, 10], [5, 0, 15, 10], [0, 0, 10, 10]], [0.9, 0.8, 0.95], 0.5)).toEqual([2, 1]);
  });

  it('attentionPeaks spreads peaks (no 8-neighbour of an earlier one), skips excluded patches and NaN', () => {
    const image = gridImage(3, 4, 1, 1);
    // 0 1 2 3 / 4 5 6 7 / 8 9 10 11
    const scores = Float32Array.from([0.9, 0.8, 0.1, 0.7, 0.6, 0.5, 0.1, 0.1, 0.1, Number.NaN, 0.1, 0.4]);
    expect(attentionPeaks(image, scores, 3)).toEqual([0, 3, 11]);
    expect(attentionPeaks(image, scores, 2, new Set([0]))).toEqual([1, 3]);
    expect(attentionPeaks(image, scores, 10)).toEqual([0, 3, 11, 8]);
  });

  it("pointGrid is SAM's build_point_grid scaled to the image", () => {
    expect(pointGrid(2, 100, 50)).toEqual([
      [25, 12.5],
      [75, 12.5],
      [25, 37.5],
      [75, 37.5],
    ]);
  });
});
