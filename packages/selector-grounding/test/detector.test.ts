import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom, IcotError, ModelConfigError, ModelFilesError, OptionError, type EncodedImage, type RgbImage } from '@icot/core';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image/node';
import { topKIndices } from '@icot/selector-ads';
import { describeSelectorConformance } from '@icot/testing';
import { createDetectorGrounder, detectionToBox, detectorQueries, padToSquare, resolveDetectorFolder, type DetectorGrounder } from '../src/detector.js';
import { createGroundingSelector } from '../src/selector.js';
import { paintedImage, writeTinyDetector, writeTinyGroundingDino } from './tiny-detector.js';

let root: string;
const folders: Record<'owlvit' | 'owlv2' | 'grounding-dino', string> = { owlvit: '', owlv2: '', 'grounding-dino': '' };
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-detector-'));
  for (const kind of ['owlvit', 'owlv2'] as const) await writeTinyDetector((folders[kind] = join(root, kind)), { kind });
  await writeTinyGroundingDino((folders['grounding-dino'] = join(root, 'grounding-dino')));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A 32 x 16 white image: a red block on patch cell (col 1, row 0), a blue one on (col 3, row 1), as 4 x 2 patches of 8 px. */
const pixels = paintedImage(32, 16, [255, 255, 255], [
  { x: 8, y: 0, width: 8, height: 8, rgb: [255, 0, 0] },
  { x: 24, y: 8, width: 8, height: 8, rgb: [0, 0, 255] },
]);
const image: EncodedImage = {
  grid: { rows: 2, cols: 4 },
  patchCount: 8,
  size: { width: 32, height: 16 },
  pixels,
  patchBox: (p) => ({ x: (p % 4) * 8, y: Math.floor(p / 4) * 8, width: 8, height: 8 }),
};
const RED = { x: 8, y: 0, width: 8, height: 8 };
const BLUE = { x: 24, y: 8, width: 8, height: 8 };
const inside = (box: { x: number; y: number; width: number; height: number }, outer: typeof RED) =>
  box.x >= outer.x && box.y >= outer.y && box.x + box.width <= outer.x + outer.width && box.y + box.height <= outer.y + outer.height && box.width > 0 && box.height > 0;

describe('detector box mapping (pure)', () => {
  it('OWLv2: pads to a square on the bottom and the right with gray, and scales boxes by max(width, height)', () => {
    const padded = padToSquare(pixels);
    expect([padded.width, padded.height]).toEqual([32, 32]);
    expect(Array.from(padded.data.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(Array.from(padded.data.subarray((2 * 32 + 10) * 3, (2 * 32 + 10) * 3 + 3))).toEqual([255, 0, 0]);
    expect(Array.from(padded.data.subarray((20 * 32 + 5) * 3, (20 * 32 + 5) * 3 + 3))).toEqual([128, 128, 128]);
    expect(padToSquare(padded)).toBe(padded);
    // a box on the top quarter of the padded square is the top half of a 32 x 16 image
    expect(detectionToBox('owlv2', { xmin: 0.25, ymin: 0, xmax: 0.5, ymax: 0.25 }, { width: 32, height: 16 })).toEqual({ x: 8, y: 0, width: 8, height: 8 });
    expect(detectionToBox('owlvit', { xmin: 0.25, ymin: 0, xmax: 0.5, ymax: 0.25 }, { width: 32, height: 16 })).toEqual({ x: 8, y: 0, width: 8, height: 4 });
    // a tall image: x scales by the height
    expect(detectionToBox('owlv2', { xmin: 0, ymin: 0.5, xmax: 0.25, ymax: 1 }, { width: 10, height: 40 })).toEqual({ x: 0, y: 20, width: 10, height: 20 });
  });

  it('clamps boxes to the image, swaps reversed corners, and drops boxes without area', () => {
    expect(detectionToBox('owlvit', { xmin: -0.1, ymin: 0.5, xmax: 1.2, ymax: 1.5 }, { width: 100, height: 50 })).toEqual({ x: 0, y: 25, width: 100, height: 25 });
    expect(detectionToBox('grounding-dino', { xmin: 0.5, ymin: 0.5, xmax: 0.25, ymax: 0.25 }, { width: 100, height: 100 })).toEqual({ x: 25, y: 25, width: 25, height: 25 });
    expect(detectionToBox('owlv2', { xmin: 0, ymin: 0.6, xmax: 1, ymax: 0.9 }, { width: 100, height: 50 })).toBeUndefined(); // all in the padding
    expect(detectionToBox('owlvit', { xmin: 0.3, ymin: 0.3, xmax: 0.3, ymax: 0.6 }, { width: 100, height: 50 })).toBeUndefined();
  });

  it('Grounding DINO gets one lower-case query of phrases, each ending with "."', () => {
    expect(detectorQueries('grounding-dino', ['The Red square', 'a blue circle.', 'top left corner ...'])).toEqual(['the red square. a blue circle. top left corner.']);
    expect(detectorQueries('owlvit', ['The Red square', 'a blue circle.'])).toEqual(['The Red square', 'a blue circle.']);
  });
});

describe.each(['owlvit', 'owlv2', 'grounding-dino'] as const)('the %s detector through transformers.js (a tiny generated colour detector)', (kind) => {
  let grounder: DetectorGrounder;
  beforeAll(async () => {
    grounder = await createDetectorGrounder({ model: folders[kind], maxBoxes: 2 });
  });
  afterAll(() => grounder?.dispose());

  it('finds each named colour where it is, in original-image pixels of a non-square image', async () => {
    expect(grounder.kind).toBe(kind);
    const found = await grounder.ground({ texts: ['Red square', 'a blue thing', 'nothing here'], image, pixels });
    expect(found.variant).toBe(`detector: ${kind} ${folders[kind]}`);
    const red = found.boxes.filter((b) => b.text === 'Red square');
    const blue = found.boxes.filter((b) => b.text === 'a blue thing');
    expect(red.length).toBeGreaterThan(0);
    expect(blue.length).toBeGreaterThan(0);
    expect(found.boxes.every((b) => b.text !== 'nothing here')).toBe(true);
    for (const box of red) expect(inside(box, RED), JSON.stringify(box)).toBe(true);
    for (const box of blue) expect(inside(box, BLUE), JSON.stringify(box)).toBe(true);
    // a pure colour patch: sigmoid(4)
    expect(red[0]!.score).toBeCloseTo(1 / (1 + Math.exp(-4)), 5);
    // OWLv2 boxes are whole cells of the padded square: scaled by max(width, height), not by the height
    if (kind === 'owlv2') expect(red[0]).toMatchObject(RED);
  });

  it('says so when nothing is found', async () => {
    const found = await grounder.ground({ texts: ['a green thing'], image, pixels });
    expect(found.boxes).toEqual([]);
    expect(found.failure).toBe('the detector found nothing above the threshold 0.1');
  });
});

describe('the grounding selector with the detector grounder', () => {
  const scores = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const request = (stepText: string) => ({ scores, image, pixels, cacheIndices: Int32Array.from({ length: 8 }, (_, i) => i), k: 2, exclude: new Set<number>(), step: 3, stepText, random: createRandom(0) });

  it('selects the patches of the detected box with no fallback, and reports box, score and variant', async () => {
    const selector = createGroundingSelector({ grounder: 'detector', detector: folders.owlv2, text: 'noun-phrases' });
    expect(selector.requires).toEqual({ attention: true, pixels: true });
    const selection = await selector.select(request('The red square is on the left.'));
    expect(selection.fallback).toBeUndefined();
    // the red cell (patch 1) overlaps the box; the second patch is the most attended of the rest
    expect(selection.indices).toEqual([1, 7]);
    expect(selection.groundedBoxes).toEqual([{ ...RED, text: 'red square', score: expect.closeTo(0.982, 3) }]);
    expect(selection.variant).toBe(`detector: owlv2 ${folders.owlv2}; noun phrases; top-k by overlap`);
    await selector.dispose();
  });

  it('falls back to ADS with the reason when the detector finds nothing', async () => {
    const selector = createGroundingSelector({ grounder: 'detector', detector: folders.owlvit });
    const selection = await selector.select(request('Nothing to see.'));
    expect(selection.fallback).toEqual({ selector: 'ads', reason: 'the detector found nothing above the threshold 0.1' });
    expect(selection.indices).toEqual(topKIndices(scores, 2));
    await selector.dispose();
  });

  it('refuses bad detector options and folders with typed errors', async () => {
    expect(() => createGroundingSelector({ grounder: 'detector' })).toThrow(OptionError);
    expect(() => createGroundingSelector({ detector: folders.owlvit })).toThrow(/apply to the detector grounder only/);
    expect(() => createGroundingSelector({ grounder: 'detector', detector: folders.owlvit, form: 'plain' })).toThrow(/apply to the VLM grounder only/);
    expect(() => createGroundingSelector({ grounder: 'detector', detector: folders.owlvit, detectorDtype: 'fp64' })).toThrow(/Unknown dtype 'fp64'/);
    expect(() => createGroundingSelector({ grounder: 'detector', detector: folders.owlvit, detectorThreshold: 2 })).toThrow(/detectorThreshold is 2/);
    const missing = await createGroundingSelector({ grounder: 'detector', detector: root }).select(request('red')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ModelFilesError);
    expect((missing as ModelFilesError).message).toMatch(/is missing config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json, onnx\/model.onnx/);
    await expect(resolveDetectorFolder(folders.owlvit, 'fp16')).rejects.toThrow(/is missing onnx\/model_fp16.onnx/);
    const other = join(root, 'other');
    await writeTinyDetector(other, { kind: 'owlvit' });
    await writeFile(join(other, 'config.json'), JSON.stringify({ model_type: 'detr' }));
    await expect(createDetectorGrounder({ model: other })).rejects.toThrow(ModelConfigError);
    await expect(createDetectorGrounder({ model: 'not a folder or id' })).rejects.toThrow(/neither a folder nor a hub id/);
    // offline, a hub id must be in the hub cache (the tests' cache is an empty temporary folder)
    await expect(createDetectorGrounder({ model: 'Xenova/owlvit-base-patch32', offline: true })).rejects.toThrow(/not in the hub cache/);
  });
});

describeSelectorConformance('grounding (detector grounder, tiny OWL-ViT)', () => createGroundingSelector({ grounder: 'detector', detector: folders.owlvit }), {
  requires: { attention: true, pixels: true },
});

// A real detector folder (OWL-ViT, OWLv2 or Grounding DINO in the transformers.js layout, e.g. a
// download of Xenova/owlvit-base-patch32) when ICOT_REAL_DETECTOR names one; skipped otherwise.
const realDetector = process.env['ICOT_REAL_DETECTOR'] ? resolve(process.env['ICOT_REAL_DETECTOR']) : undefined;
describe.skipIf(realDetector === undefined)(
  realDetector ? `a real detector: ${realDetector}` : 'a real detector: skipped: ICOT_REAL_DETECTOR is not set (ICOT_REAL_DETECTOR=DIR runs a real OWL-ViT / OWLv2 / Grounding DINO folder)',
  () => {
    it('finds the red square in the top left and the blue circle in the bottom right of the demo image', async () => {
      const demo: RgbImage = await readImageFile(demoModel.image);
      const grounder = await createDetectorGrounder({ model: realDetector!, ...(process.env['ICOT_REAL_DETECTOR_DTYPE'] ? { dtype: process.env['ICOT_REAL_DETECTOR_DTYPE'] } : {}) });
      try {
        const demoImage = { grid: { rows: 8, cols: 8 }, patchCount: 64, size: { width: demo.width, height: demo.height }, patchBox: () => ({ x: 0, y: 0, width: 28, height: 28 }) };
        const found = await grounder.ground({ texts: ['a red square', 'a blue circle'], image: demoImage, pixels: demo });
        const centre = (text: string) => {
          const box = found.boxes.find((b) => b.text === text);
          expect(box, `${text}: ${JSON.stringify(found)}`).toBeDefined();
          return [box!.x + box!.width / 2, box!.y + box!.height / 2];
        };
        const [rx, ry] = centre('a red square');
        expect(rx! < 112 && ry! < 112).toBe(true);
        const [bx, by] = centre('a blue circle');
        expect(bx! > 112 && by! > 112).toBe(true);
      } finally {
        await grounder.dispose();
      }
    }, 600_000);
  },
);

it('a detector grounder without pixels in the request is an IcotError', async () => {
  const grounder = await createDetectorGrounder({ model: folders.owlvit });
  await expect(grounder.ground({ texts: ['red'], image })).rejects.toSatisfy((e: unknown) => IcotError.is(e));
  await grounder.dispose();
});
