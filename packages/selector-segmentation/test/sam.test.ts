import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom, createSignalTrigger, generateICoT, ModelConfigError, ModelFilesError, OptionError, type EncodedImage, type RgbImage } from '@icot/core';
import { createToyModel } from '@icot/core/test';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { demoModel } from '@icot/demo-model';
import { createSamRegionSource, createSamSegmentationSelector } from '../src/transformers.js';
import { drawShapes } from './shapes.js';
import { writeTinySam } from './tiny-sam.js';

/** Patch p of an 8 x 8 grid and its 4-neighbours inside the grid, ascending. */
function plus(p: number, cols = 8, rows = 8): number[] {
  const r = Math.floor(p / cols);
  const c = p % cols;
  const out = [p];
  if (r > 0) out.push(p - cols);
  if (r < rows - 1) out.push(p + cols);
  if (c > 0) out.push(p - 1);
  if (c < cols - 1) out.push(p + 1);
  return out.sort((a, b) => a - b);
}

describe('SAM-family masks through transformers.js, on tiny TS-built graphs with the real contract', () => {
  let root: string;
  const folders: Record<'sam' | 'sam2', string> = { sam: '', sam2: '' };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'icot-tiny-sam-'));
    for (const kind of ['sam', 'sam2'] as const) await writeTinySam((folders[kind] = join(root, kind)), { kind });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A toy image of `rows x cols` patches of 20 px, with the attention peak at `peak`. */
  async function request(rows: number, cols: number, peak: number): Promise<{ image: EncodedImage; pixels: RgbImage; scores: Float32Array }> {
    const model = createToyModel({ grid: { rows, cols } });
    const { image: pixels } = drawShapes(cols * 20, rows * 20, [128, 128, 128], []);
    const image = await model.encodeImage(pixels);
    const random = createRandom(2);
    const scores = Float32Array.from({ length: rows * cols }, () => random.next() * 0.01);
    scores[peak] = 0.5;
    return { image, pixels, scores };
  }

  it('SAM (longest edge resized, padded): a prompt at the peak gives its disc, the patches it mostly covers', async () => {
    // 160 x 120 -> 64 x 48 (scale 2.5): the best mask (radius 10 model px) is a 25 px disc around
    // patch 19's centre: it covers patch 19 and about 70% of each 4-neighbour, 27% of the diagonal ones
    const source = await createSamRegionSource({ model: folders.sam, peaks: 1 });
    try {
      expect([source.variant, source.modelType]).toEqual(['sam-peaks', 'sam']);
      const regions = await source.regions({ ...(await request(6, 8, 19)), k: 5, exclude: new Set() });
      expect(regions).toEqual([plus(19, 8, 6)]);
    } finally {
      await source.dispose();
    }
  });

  it('SAM 2 (resized to a square, no padding): the same prompt gives an ellipse on a wide image', async () => {
    // 160 x 120 -> 64 x 64: x scale 2.5, y scale 1.875: the disc becomes 25 x 18.75 px: about 66% of
    // the left and right neighbours, 39% of those above and below
    const source = await createSamRegionSource({ model: folders.sam2, peaks: 1 });
    try {
      expect([source.variant, source.modelType]).toEqual(['sam-peaks', 'sam2']);
      expect(await source.regions({ ...(await request(6, 8, 19)), k: 5, exclude: new Set() })).toEqual([[18, 19, 20]]);
    } finally {
      await source.dispose();
    }
  });

  it('prompts at distinct attention peaks, skipping excluded patches, and keeps the image embedding for later insertions', async () => {
    const source = await createSamRegionSource({ model: folders.sam, peaks: 2 });
    try {
      const base = await request(8, 8, 27);
      base.scores[28] = 0.4; // next to the first peak: not a second peak
      base.scores[45] = 0.3;
      expect(await source.regions({ ...base, k: 5, exclude: new Set() })).toEqual([plus(27), plus(45)]);
      expect(await source.regions({ ...base, k: 5, exclude: new Set([27]) })).toEqual([plus(28), plus(45)]);
    } finally {
      await source.dispose();
    }
  });

  it("builds SAM's automatic mask pool from a point grid once per image (IoU and stability filters, box NMS)", async () => {
    // 160 x 160, 8 points per side: one prompt at every patch centre; SAM keeps the 0.95-IoU mask of
    // each (the others are under 0.88), boxes 20 px apart overlap by IoU 0.43 < 0.7: all 64 kept
    const source = await createSamRegionSource({ model: folders.sam, prompts: 'grid', pointsPerSide: 8, pointsPerBatch: 24 });
    try {
      expect(source.variant).toBe('sam-grid');
      const req = { ...(await request(8, 8, 0)), k: 5, exclude: new Set<number>() };
      const regions = await source.regions(req);
      expect([...regions].sort((a, b) => a.join().localeCompare(b.join()))).toEqual(Array.from({ length: 64 }, (_, p) => plus(p)).sort((a, b) => a.join().localeCompare(b.join())));
      expect(await source.regions(req)).toBe(regions);
      // a strict IoU threshold keeps nothing; NMS at 0.3 drops neighbours' discs
      const strict = await createSamRegionSource({ model: folders.sam, prompts: 'grid', pointsPerSide: 8, predIouThreshold: 0.96 });
      expect(await strict.regions(req)).toEqual([]);
      await strict.dispose();
      const nms = await createSamRegionSource({ model: folders.sam, prompts: 'grid', pointsPerSide: 8, boxNmsThreshold: 0.3 });
      const kept = await nms.regions(req);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(64);
      await nms.dispose();
    } finally {
      await source.dispose();
    }
  });

  it('SAM 2 grid: its 0.8 IoU threshold also keeps the larger discs', async () => {
    const source = await createSamRegionSource({ model: folders.sam2, prompts: 'grid', pointsPerSide: 8 });
    try {
      const regions = await source.regions({ ...(await request(8, 8, 0)), k: 5, exclude: new Set() });
      expect(regions.length).toBeGreaterThan(64);
      for (const p of [0, 27, 63]) expect(regions).toContainEqual(plus(p));
    } finally {
      await source.dispose();
    }
  });

  it('selects the region at the attention peak whole and reports it, on the demo model end to end, the same way twice', async () => {
    const model = await loadOnnxModel(demoModel.dir);
    const selector = await createSamSegmentationSelector({ model: folders.sam2, peaks: 4 });
    try {
      const image = await model.encodeImage(await readImageFile(demoModel.image));
      const run = () =>
        generateICoT({
          model,
          prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
          selector,
          decoder: createInputInsertionDecoder(),
          trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
          maxNewTokens: 16,
        });
      const first = await run();
      const second = await run();
      const own = first.insertions.filter((i) => i.selector === 'segmentation' && !i.fallback);
      expect(own.length).toBeGreaterThan(0);
      for (const insertion of own) {
        expect(insertion.variant).toBe('sam-peaks');
        expect(insertion.regions!.length).toBeGreaterThan(0);
      }
      expect(second.insertions.map((i) => [i.selected, i.regions])).toEqual(first.insertions.map((i) => [i.selected, i.regions]));
    } finally {
      await selector.dispose();
      await model.dispose();
    }
  });

  it('rejects bad options, folders without a model and models of another kind with typed errors', async () => {
    for (const bad of [{}, { model: '' }, { model: folders.sam, prompts: 'boxes' }, { model: folders.sam, peaks: 0 }, { model: folders.sam, maskCoverage: 0 }, { model: folders.sam, predIouThreshold: 2 }, { model: folders.sam, modle: 1 }, { model: folders.sam, fill: 1 }])
      await expect(createSamSegmentationSelector(bad as never), JSON.stringify(bad)).rejects.toThrow(OptionError);
    await expect(createSamRegionSource({ model: join(root, 'missing') })).rejects.toThrow(ModelFilesError);
    await expect(createSamRegionSource({ model: demoModel.dir })).rejects.toThrow(ModelConfigError);
    await expect(createSamRegionSource({ model: folders.sam, dtype: 'q4' })).rejects.toThrow(ModelFilesError);
  });
});

const realModel = process.env['ICOT_SAM_MODEL'];
describe.skipIf(!realModel)('SAM-family masks on a real model folder (ICOT_SAM_MODEL)', () => {
  it('segments the demo image: the mask at the red square covers the square', async () => {
    const source = await createSamRegionSource({ model: realModel!, peaks: 1 });
    try {
      const pixels = await readImageFile(demoModel.image);
      // the demo image's red square spans about x, y 14..70 of 224: patches (rows, cols) 0..2 of an 8 x 8 grid of 28 px
      const image = await createToyModel({ grid: { rows: 8, cols: 8 } }).encodeImage(pixels);
      const scores = new Float32Array(64).fill(0.001);
      scores[9] = 0.5; // row 1, col 1: inside the square
      const regions = await source.regions({ image, pixels, scores, k: 16, exclude: new Set() });
      expect(regions).toHaveLength(1);
      expect(regions[0]).toContain(9);
      for (const p of regions[0]!) expect([0, 1, 2, 8, 9, 10, 16, 17, 18]).toContain(p);
    } finally {
      await source.dispose();
    }
  });
});
if (!realModel) console.log('SAM real-model test skipped: set ICOT_SAM_MODEL to a local SAM / SAM 2 folder (transformers.js layout) to run it.');
