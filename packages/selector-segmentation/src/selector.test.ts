import { describe, expect, it } from 'vitest';
import { createRandom, IcotError, OptionError, SelectionError, type SelectionRequest } from '@icot/core';
import { createToyModel } from '@icot/core/test';
import { describeSelectorConformance } from '@icot/testing';
import { createSegmentationSelector, SegmentationSelector, type RegionSource } from './selector.js';
import { drawShapes, rect } from '../test/shapes.js';

describeSelectorConformance('segmentation (SLIC)', () => createSegmentationSelector(), { requires: { attention: true, pixels: true } });
describeSelectorConformance('segmentation (SLIC, 30 segments, budget 3)', () => createSegmentationSelector({ segments: 30, maxRegionPatches: 3 }), { requires: { attention: true, pixels: true } });

/** A 6 x 6-patch toy image (10 px patches) with a red 20 x 20 square over patches 14, 15, 20, 21 on grey. */
async function squareRequest(scores: number[], over: Partial<SelectionRequest> = {}): Promise<SelectionRequest> {
  const model = createToyModel({ grid: { rows: 6, cols: 6 } });
  const { image: pixels } = drawShapes(60, 60, [128, 128, 128], [rect(20, 20, 20, 20, [220, 30, 30])]);
  const image = await model.encodeImage(pixels);
  return { image, pixels, scores: Float32Array.from(scores), cacheIndices: Int32Array.from({ length: 36 }, (_, i) => i), k: 4, exclude: new Set(), step: 0, stepText: '', random: createRandom(0), ...over };
}

describe('createSegmentationSelector', () => {
  it('selects the whole square when attention peaks on part of it', async () => {
    // most attention on patch 6 (in the square) and patch 0 (background), less on the rest of the square
    // (9 segments: S = 20 px, the square's size)
    const scores = new Array(36).fill(0.01);
    scores[15] = 0.3;
    scores[0] = 0.2;
    scores[14] = scores[20] = scores[21] = 0.05;
    const selection = await createSegmentationSelector({ segments: 9 }).select(await squareRequest(scores));
    expect(selection.indices).toEqual([14, 15, 20, 21]);
    expect(selection.regions).toEqual([[14, 15, 20, 21]]);
    // ADS would take 15, 0 and two of the square's patches
    expect(selection.indices).not.toContain(0);
    expect(selection.variant).toBe('slic');
    expect(selection.fallback).toBeUndefined();
  });

  it('finds the same square on the image shrunk for maxPixels', async () => {
    const scores = new Array(36).fill(0.01);
    scores[15] = 0.3;
    scores[0] = 0.2;
    // 60 x 60 = 3,600 pixels over maxPixels 900: segmented at 30 x 30 (factor 2)
    const selection = await createSegmentationSelector({ segments: 9, maxPixels: 900 }).select(await squareRequest(scores));
    expect(selection.regions).toEqual([[14, 15, 20, 21]]);
  });

  it('falls back to ADS (and says so) when every region is over the budget', async () => {
    const scores = Array.from({ length: 36 }, (_, i) => (i + 1) / 666);
    const selection = await createSegmentationSelector({ segments: 9, maxRegionPatches: 2 }).select(await squareRequest(scores));
    expect(selection.indices).toEqual([32, 33, 34, 35]);
    expect(selection.fallback).toEqual({ selector: 'ads', reason: expect.stringMatching(/^every region is larger than the budget of 2 patches/) });
    expect(selection.regions).toBeUndefined();
  });

  it('segments each image once and reuses the regions for later insertions', async () => {
    let calls = 0;
    const source: RegionSource = {
      variant: 'counting',
      regions: () => {
        calls++;
        return [[0, 1], [2, 3]];
      },
    };
    const selector = new SegmentationSelector({ source, name: 'seg' });
    const request = await squareRequest(new Array(36).fill(1 / 36), { k: 2 });
    expect((await selector.select(request)).indices).toEqual([0, 1]);
    expect(calls).toBe(1);
    // the SLIC source keeps the regions of an image (a WeakMap keyed by it); a later insertion with the first picks excluded never repeats them
    const slicSelector = createSegmentationSelector({ segments: 9 });
    const first = await slicSelector.select(request);
    const second = await slicSelector.select({ ...request, exclude: new Set(first.indices) });
    expect(second.indices.some((i) => first.indices.includes(i))).toBe(false);
    expect(selector.name).toBe('seg');
  });

  it('on a tiled image, takes tile regions and global-view regions apart, never one region across the views', async () => {
    // 2 x 2 tiles of 3 x 3 patches + the global view (3 x 3) over a 60 x 60 image with the red square in the middle
    const model = createToyModel({ grid: { rows: 3, cols: 3 }, tiles: { rows: 2, cols: 2 } });
    const { image: pixels } = drawShapes(60, 60, [128, 128, 128], [rect(20, 20, 20, 20, [220, 30, 30])]);
    const image = await model.encodeImage(pixels);
    const random = createRandom(4);
    const scores = Float32Array.from({ length: image.patchCount }, () => random.next());
    const selection = await createSegmentationSelector({ segments: 9 }).select({ image, pixels, scores, cacheIndices: Int32Array.from({ length: image.patchCount }, (_, i) => i), k: 8, exclude: new Set(), step: 0, stepText: '', random: createRandom(0) });
    expect(selection.indices).toHaveLength(8);
    expect(selection.regions!.length).toBeGreaterThan(0);
    for (const region of selection.regions!) {
      const global = region.map((p) => p >= 36);
      expect(new Set(global).size).toBe(1);
    }
  });

  it('rejects bad options with OptionErrors naming them', () => {
    const bad: unknown[] = [
      { segments: 0 },
      { segments: 1.5 },
      { compactness: -1 },
      { iterations: 0 },
      { maxPixels: 10 },
      { maxRegionPatches: 0 },
      { fill: 'yes' },
      { name: '' },
      { segmets: 100 },
      null,
      [],
    ];
    for (const options of bad) expect(() => createSegmentationSelector(options as never), JSON.stringify(options)).toThrow(OptionError);
    expect(() => createSegmentationSelector({ segmets: 100 } as never)).toThrow(/Unknown segmentation option: segmets/);
  });

  it('rejects requests it cannot serve with SelectionErrors', async () => {
    const selector = createSegmentationSelector();
    const request = await squareRequest(new Array(36).fill(1 / 36));
    await expect(selector.select({ ...request, k: 37 })).rejects.toThrow(SelectionError);
    await expect(selector.select({ ...request, k: 0 })).rejects.toThrow(SelectionError);
    await expect(selector.select({ ...request, scores: new Float32Array(3) })).rejects.toThrow(SelectionError);
    await expect(selector.select({ ...request, pixels: { width: 20, height: 60, data: new Uint8Array(3600) } })).rejects.toThrow(/pixels are 20 x 60/);
    const controller = new AbortController();
    controller.abort();
    const error = await Promise.resolve(selector.select({ ...request, signal: controller.signal })).catch((e: unknown) => e);
    expect(IcotError.is(error) && error.code).toBe('aborted');
  });
});
