import { createRandom, type RgbImage, type SelectionRequest } from '@icot/core';
import { createToyModel } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createSegmentationSelector, slic } from '@icot/selector-segmentation';
import type { SectionResult } from './report.js';
import { selectorCostVsAds, type SelectorCostSetup } from './selector-cost.js';
import { median, table } from './stats.js';

/** What {@link segmentationCost} measures on. */
export type SegmentationCostSetup = SelectorCostSetup;

/**
 * Cost per insertion (selection and insertion: the run's `insertionMs` over its insertions, at
 * most 3 per answer) of the segmentation selector against ADS on one model. A fresh selector per
 * answer, so each answer pays SLIC once (at its first insertion; later insertions reuse the
 * regions). Rotating rounds; medians.
 */
export async function segmentationCost(setup: SegmentationCostSetup): Promise<SectionResult> {
  return selectorCostVsAds(
    setup,
    [
      ['segmentation', () => createSegmentationSelector()],
    ],
    'segmentation with its defaults: SLIC 100 segments, compactness 10, once per answer',
  );
}

/** A photo-like test image: smooth gradients with a few flat discs. */
function photoLike(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const random = createRandom(3);
  const discs = Array.from({ length: 12 }, () => ({ x: random.next() * width, y: random.next() * height, r: 20 + random.next() * 120, c: [random.int(256), random.int(256), random.int(256)] }));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 255) / width;
      data[o + 1] = (y * 255) / height;
      data[o + 2] = 96;
      for (const d of discs) if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r * d.r) data.set(d.c, o);
    }
  return { width, height, data };
}

/**
 * Selection alone (no model) on a photo-sized image: SLIC by itself, and one `select()` of ADS and
 * of the segmentation selector over a 24 x 32 patch grid (k 16) - the segmentation selector cold
 * (SLIC, the patch regions and the choice) and warm (regions kept from an earlier insertion).
 */
export async function segmentationSelectCost(width: number, height: number, rounds: number): Promise<SectionResult> {
  const pixels = photoLike(width, height);
  const model = createToyModel({ grid: { rows: 24, cols: 32 } });
  const image = await model.encodeImage(pixels);
  const random = createRandom(1);
  const scores = Float32Array.from({ length: image.patchCount }, () => random.next());
  const request: SelectionRequest = { image, pixels, scores, cacheIndices: Int32Array.from({ length: image.patchCount }, (_, i) => i), k: 16, exclude: new Set(), step: 0, stepText: '', random: createRandom(0) };
  const time = async (body: () => unknown): Promise<number> => {
    const samples: number[] = [];
    await body(); // warm-up
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      await body();
      samples.push(performance.now() - start);
    }
    return median(samples);
  };
  const ads = createAdsSelector();
  const warm = createSegmentationSelector();
  await warm.select(request);
  const cases: [string, number][] = [
    ['slic', await time(() => slic(pixels))],
    ['ads-select', await time(() => ads.select(request))],
    ['segmentation-select-cold', await time(() => createSegmentationSelector().select(request))],
    ['segmentation-select-warm', await time(() => warm.select(request))],
  ];
  const rows: string[][] = [['case', 'ms']];
  for (const [name, ms] of cases) rows.push([name, ms.toFixed(3)]);
  return {
    text: [`selection alone on a ${width} x ${height} image (24 x 32 patches, k 16; SLIC defaults), medians of ${rounds} rounds`, table(rows)].join('\n'),
    rows: cases.map(([name, ms]) => ({ name: `photo-${name}-ms`, value: ms, unit: 'ms' })),
  };
}
