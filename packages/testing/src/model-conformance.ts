import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import {
  AbortedError,
  AttentionUnavailableError,
  PromptError,
  createSignalTrigger,
  generateICoT,
  type EncodedImage,
  type InsertionDecoderV1,
  type PatchSelectorV1,
  type RgbImage,
  type VisionLanguageModelV1,
} from '@icot/core';

/** What a model implementation declares about itself to the conformance suite. */
export interface ModelConformanceCapabilities {
  /** The model reports attention (ADS works). */
  readonly attention: boolean;
}

/** How the suite gets a model to test. */
export interface ModelConformanceSetup {
  readonly model: VisionLanguageModelV1;
  /** An image the model accepts. */
  readonly image: RgbImage;
  /** A prompt with exactly one image placeholder. */
  readonly promptText: string;
  /** ICoT parts for the end-to-end check. */
  readonly selector: PatchSelectorV1;
  readonly decoder: InsertionDecoderV1;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Behavioural conformance suite of {@link VisionLanguageModelV1}: every backend runs it with
 * its own models. Capabilities are declared, never discovered by skipping.
 */
export function describeModelConformance(
  name: string,
  setup: () => Promise<ModelConformanceSetup>,
  capabilities: ModelConformanceCapabilities,
): void {
  describe(`VisionLanguageModelV1 conformance: ${name}`, () => {
    let s: ModelConformanceSetup;
    let image: EncodedImage;
    beforeAll(async () => {
      s = await setup();
      image = await s.model.encodeImage(s.image);
    });
    afterAll(async () => {
      await s?.model.dispose();
    });

    it('declares the v1 specification and its capabilities', () => {
      expect(s.model.specificationVersion).toBe('v1');
      expect(s.model.family.specificationVersion).toBe('v1');
      expect(s.model.capabilities.attention).toBe(capabilities.attention);
      if (!capabilities.attention) expect(s.model.capabilities.attentionUnavailableReason).toBeTruthy();
      expect(s.model.vocabSize).toBeGreaterThan(0);
      expect(s.model.eosTokenIds.length).toBeGreaterThan(0);
    });

    it('encodes an image into a patch grid of boxes inside the image, in raster order', () => {
      expect(image.patchCount).toBe(image.grid.rows * image.grid.cols);
      expect(image.size).toEqual({ width: s.image.width, height: s.image.height });
      let area = 0;
      for (let i = 0; i < image.patchCount; i++) {
        const b = image.patchBox(i);
        expect(b.x).toBeGreaterThanOrEqual(-1e-6);
        expect(b.y).toBeGreaterThanOrEqual(-1e-6);
        expect(b.x + b.width).toBeLessThanOrEqual(s.image.width + 1e-6);
        expect(b.y + b.height).toBeLessThanOrEqual(s.image.height + 1e-6);
        area += b.width * b.height;
      }
      // the grid covers the image, or the part a cropping processor keeps
      expect(area).toBeGreaterThan(0);
      expect(area).toBeLessThanOrEqual(s.image.width * s.image.height + 1e-3);
      // raster order: patch 1 is right of patch 0 when the grid has more than one column
      if (image.grid.cols > 1) expect(image.patchBox(1).x).toBeGreaterThan(image.patchBox(0).x);
    });

    it('prepares a prompt: one position per input, the image at its offset', async () => {
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      expect(prompt.positions.length).toBe(prompt.length);
      expect(prompt.positions.axes).toBe(s.model.family.positionAxes);
      expect(prompt.images).toHaveLength(1);
      expect(prompt.images[0]!.start).toBeGreaterThanOrEqual(0);
      expect(prompt.images[0]!.start + image.patchCount).toBeLessThanOrEqual(prompt.length);
      expect(prompt.nextPosition).toBeGreaterThan(0);
    });

    it('rejects a prompt without an image placeholder when an image is given', async () => {
      const text = s.promptText.split(s.model.family.imagePlaceholder).join('');
      await expect(s.model.preparePrompt({ text, images: [image] })).rejects.toBeInstanceOf(PromptError);
    });

    it('decodes with a KV cache exactly like a full recompute', async () => {
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const a = s.model.createSession();
      const first = await a.step({ segments: prompt.segments, positions: prompt.positions });
      expect(first.logits.length).toBeGreaterThanOrEqual(s.model.vocabSize);
      expect(a.length).toBe(prompt.length);
      const token = Array.from(first.logits).indexOf(Math.max(...first.logits));
      const incremental = await a.step({ segments: [{ type: 'tokens', ids: [token] }], positions: s.model.family.textPositions(prompt.nextPosition, 1) });
      expect(a.length).toBe(prompt.length + 1);
      a.dispose();
      // the same sequence in one step
      const all = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const b = s.model.createSession();
      const textPos = s.model.family.textPositions(prompt.nextPosition, 1);
      const axes = all.positions.axes;
      const data = new Int32Array(axes * (all.length + 1));
      for (let ax = 0; ax < axes; ax++) {
        data.set(all.positions.data.subarray(ax * all.length, (ax + 1) * all.length), ax * (all.length + 1));
        data[ax * (all.length + 1) + all.length] = textPos.data[ax]!;
      }
      const full = await b.step({ segments: [...all.segments, { type: 'tokens', ids: [token] }], positions: { axes, length: all.length + 1, data } });
      b.dispose();
      expect(maxAbsDiff(incremental.logits.subarray(0, s.model.vocabSize), full.logits.subarray(0, s.model.vocabSize))).toBeLessThan(1e-4);
    });

    it('is deterministic: two sessions give identical logits', async () => {
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const run = async (): Promise<Float32Array> => {
        const session = s.model.createSession();
        const out = await session.step({ segments: prompt.segments, positions: prompt.positions });
        session.dispose();
        return Float32Array.from(out.logits);
      };
      expect(maxAbsDiff(await run(), await run())).toBe(0);
    });

    if (capabilities.attention) {
      it('returns the last position attention over the whole cache: a distribution', async () => {
        const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
        const session = s.model.createSession();
        const out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true });
        expect(out.attention).toBeDefined();
        expect(out.attention!.length).toBe(session.length);
        let sum = 0;
        for (const v of out.attention!) {
          expect(v).toBeGreaterThanOrEqual(0);
          sum += v;
        }
        expect(sum).toBeCloseTo(1, 4);
        const next = await session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: s.model.family.textPositions(prompt.nextPosition, 1), attention: true });
        expect(next.attention!.length).toBe(prompt.length + 1);
        session.dispose();
      });
    } else {
      it('fails clearly when attention is asked for', async () => {
        const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
        const session = s.model.createSession();
        await expect(session.step({ segments: prompt.segments, positions: prompt.positions, attention: true })).rejects.toBeInstanceOf(AttentionUnavailableError);
        session.dispose();
      });
    }

    it('accepts an insertion block of the family and grows the cache by its length', async () => {
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const session = s.model.createSession();
      await session.step({ segments: prompt.segments, positions: prompt.positions });
      const patches = [0, Math.min(1, image.patchCount - 1)].filter((v, i, a) => a.indexOf(v) === i);
      const block = s.model.family.insertionBlock({ image, patches, start: prompt.nextPosition, layout: 'grid' });
      const before = session.length;
      const out = await session.step({ segments: block.segments, positions: block.positions });
      expect(session.length).toBe(before + block.positions.length);
      expect(block.nextPosition).toBeGreaterThan(prompt.nextPosition);
      expect(out.logits.length).toBeGreaterThanOrEqual(s.model.vocabSize);
      session.dispose();
    });

    it('stops with AbortedError when the signal is aborted', async () => {
      const prompt = await s.model.preparePrompt({ text: s.promptText, images: [image] });
      const session = s.model.createSession();
      const controller = new AbortController();
      controller.abort();
      await expect(session.step({ segments: prompt.segments, positions: prompt.positions, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
      session.dispose();
    });

    it('runs the whole ICoT loop deterministically under greedy decoding', async () => {
      const run = () =>
        generateICoT({
          model: s.model,
          prompt: { text: s.promptText, images: [image] },
          selector: s.selector,
          decoder: s.decoder,
          trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: s.model.vocabSize }, (_, i) => i) }, every: 3 }),
          k: Math.min(4, image.patchCount),
          maxInsertions: capabilities.attention || !s.selector.requiresAttention ? 2 : 0,
          maxNewTokens: 12,
        });
      const a = await run();
      const b = await run();
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
      if (capabilities.attention || !s.selector.requiresAttention) expect(a.insertions.length).toBeGreaterThan(0);
    });
  });
}
