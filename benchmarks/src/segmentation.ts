import { createRandom, createSignalTrigger, generateICoT, type PatchSelectorV2, type PromptInput, type RgbImage, type SelectionRequest, type VisionLanguageModelV2 } from '@icot/core';
import { createToyModel } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import { createSegmentationSelector, slic } from '@icot/selector-segmentation';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** What {@link segmentationCost} measures on. */
export interface SegmentationCostSetup {
  readonly label: string;
  readonly model: VisionLanguageModelV2;
  readonly prompt: PromptInput;
  /** Signal tokens of the trigger (every `every`-th fires). */
  readonly signalTokenIds: readonly number[];
  readonly every: number;
  readonly maxNewTokens: number;
  readonly rounds: number;
  /** Prefix of the JSON row names (e.g. `demo-`). */
  readonly rowPrefix: string;
}

/**
 * Cost per insertion (selection and insertion: the run's `insertionMs` over its insertions, at
 * most 3 per answer) of the segmentation selector against ADS on one model. A fresh selector per
 * answer, so each answer pays SLIC once (at its first insertion; later insertions reuse the
 * regions). Rotating rounds; medians.
 */
export async function segmentationCost(setup: SegmentationCostSetup): Promise<SectionResult> {
  const selectors: [string, () => PatchSelectorV2][] = [
    ['ads', () => createAdsSelector()],
    ['segmentation', () => createSegmentationSelector()],
  ];
  const once = async (make: () => PatchSelectorV2) => {
    const result = await generateICoT({
      model: setup.model,
      prompt: setup.prompt,
      selector: make(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: setup.signalTokenIds }, every: setup.every }),
      maxInsertions: 3,
      maxNewTokens: setup.maxNewTokens,
    });
    if (result.insertions.length === 0) throw new Error(`benchmark ${setup.label}: a run made no insertion`);
    return { perInsertion: result.timings.insertionMs / result.insertions.length, insertions: result.insertions.length };
  };
  for (const [, make] of selectors) await once(make); // warm-up
  const samples = selectors.map(() => [] as number[]);
  const counts = selectors.map(() => 0);
  for (let r = 0; r < setup.rounds; r++)
    for (let j = 0; j < selectors.length; j++) {
      const index = (r + j) % selectors.length;
      const t = await once(selectors[index]![1]);
      samples[index]!.push(t.perInsertion);
      counts[index] = t.insertions;
    }
  const ads = median(samples[0]!);
  const rows: string[][] = [['selector', 'ms/insertion', 'vs ads', 'insertions/answer']];
  const measured: SectionResult['rows'][number][] = [];
  selectors.forEach(([name], i) => {
    const ms = median(samples[i]!);
    rows.push([name, ms.toFixed(2), (ms / ads).toFixed(2), String(counts[i])]);
    measured.push({ name: `${setup.rowPrefix}${name}-ms-per-insertion`, value: ms, unit: 'ms' }, { name: `${setup.rowPrefix}${name}-vs-ads-per-insertion`, value: ms / ads, unit: 'ratio' });
  });
  return {
    text: [
      `${setup.label}: cost per insertion (selection + insertion; segmentation with its defaults: SLIC 100 segments, compactness 10, once per answer), medians of ${setup.rounds} rotating rounds`,
      table(rows),
    ].join('\n'),
    rows: measured,
  };
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
