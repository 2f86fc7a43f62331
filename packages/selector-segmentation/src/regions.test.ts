import { describe, expect, it } from 'vitest';
import type { Box, EncodedImage } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { regionsFromSuperpixels } from './regions.js';
import type { Superpixels } from './slic.js';

/** A single-grid image of `rows x cols` patches, each `pw x ph` pixels (fractions allowed). */
function gridImage(rows: number, cols: number, pw: number, ph: number): EncodedImage {
  return {
    grid: { rows, cols },
    patchCount: rows * cols,
    size: { width: cols * pw, height: rows * ph },
    patchBox: (p: number): Box => ({ x: (p % cols) * pw, y: Math.floor(p / cols) * ph, width: pw, height: ph }),
  };
}

/** Superpixels from rows of label digits. */
function labelsFrom(rows: readonly string[]): Superpixels {
  const labels = Int32Array.from(rows.join('').split('').map(Number));
  return { width: rows[0]!.length, height: rows.length, labels, count: Math.max(...labels) + 1 };
}

describe('regionsFromSuperpixels', () => {
  it('gives each patch the label covering most of its box and groups patches by label', () => {
    // 2 x 3 patches of 2 x 2 pixels; label 1 covers 3 of patch 1's 4 pixels, label 2 patch 2 and 5
    const s = labelsFrom(['001122', '010122', '000022', '000022']);
    expect(regionsFromSuperpixels(gridImage(2, 3, 2, 2), s, { width: 6, height: 4 })).toEqual([[0, 3, 4], [1], [2, 5]]);
  });

  it('breaks equal coverage toward the lower label', () => {
    const s = labelsFrom(['01', '10']);
    expect(regionsFromSuperpixels(gridImage(1, 1, 2, 2), s, { width: 2, height: 2 })).toEqual([[0]]);
  });

  it('weighs pixels by the area they share with fractional boxes', () => {
    // 3 patches of 4/3 px across a 4 x 1 image labelled 0 0 1 1: patch 1 spans [1.33, 2.67): 0.67 of label 0 and 0.67 of label 1 -> tie -> 0;
    // patch 2 spans [2.67, 4): label 1
    const s = labelsFrom(['0011']);
    expect(regionsFromSuperpixels(gridImage(1, 3, 4 / 3, 1), s, { width: 4, height: 1 })).toEqual([[0, 1], [2]]);
    // 0 1 1 1: patch 0 spans [0, 1.33): 1 px of label 0, 0.33 of label 1 -> 0; patch 1 -> 1
    expect(regionsFromSuperpixels(gridImage(1, 3, 4 / 3, 1), labelsFrom(['0111']), { width: 4, height: 1 })).toEqual([[0], [1, 2]]);
  });

  it('maps boxes onto a segmentation made on the image shrunk by an integer factor', () => {
    // the 8 x 4 image segmented at 4 x 2 (factor 2): patches of 4 x 4 px cover 2 x 2 segmentation pixels
    const s = labelsFrom(['0112', '0022']);
    expect(regionsFromSuperpixels(gridImage(1, 2, 4, 4), s, { width: 8, height: 4 }, 2)).toEqual([[0], [1]]);
    // a shrunk segmentation whose last column stands for a partial block: 5 px wide, factor 2 -> 3 columns
    const partial = labelsFrom(['001']);
    expect(regionsFromSuperpixels(gridImage(1, 5, 1, 2), partial, { width: 5, height: 2 }, 2)).toEqual([[0, 1, 2, 3], [4]]);
  });

  it('gives a label with tile patches and global-view patches two regions, one per view', async () => {
    // 2 x 2 tiles of 2 x 2 patches, plus the global view (2 x 2 patches over the whole image)
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 2, cols: 2 } });
    const image = await model.encodeImage(createTestImage(8, 8));
    // left half label 0, right half label 1
    const s = labelsFrom(Array.from({ length: 8 }, () => '00001111'));
    const regions = regionsFromSuperpixels(image, s, { width: 8, height: 8 });
    // tiles 0 (top left) and 2 (bottom left) are label 0: patches 0-3 and 8-11; tiles 1 and 3: 4-7, 12-15;
    // global view: patches 16-19, left column 16 and 18
    expect(regions).toEqual([
      [0, 1, 2, 3, 8, 9, 10, 11],
      [4, 5, 6, 7, 12, 13, 14, 15],
      [16, 18],
      [17, 19],
    ]);
  });

  it('covers every patch exactly once', async () => {
    const model = createToyModel({ grid: { rows: 3, cols: 5 } });
    const image = await model.encodeImage(createTestImage(50, 30));
    const labels = new Int32Array(50 * 30);
    for (let i = 0; i < labels.length; i++) labels[i] = ((i % 50) >> 3) + 7 * ((i / 50) >> 3);
    const regions = regionsFromSuperpixels(image, { width: 50, height: 30, labels, count: 7 * 4 }, { width: 50, height: 30 });
    expect(regions.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });
});
