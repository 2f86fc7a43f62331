import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import {
  AbortedError,
  AttentionUnavailableError,
  PromptError,
  generateICoT,
  type DecodingSessionV1,
  type EncodedImage,
  type InsertionDecoderV1,
  type PatchSelectorV1,
  type PreparedPrompt,
  type RgbImage,
  type VisionLanguageModelV1,
} from '@icot/core';
import { argmax, everyNthTokenTrigger, firstLogitDifference, toleranceOf, type ConformanceDtype } from './conformance.js';

/**
 * What a model implementation declares about itself to the conformance suite. Every flag selects
 * tests of what the model does either way, never a silent skip.
 */
export interface ModelConformanceCapabilities {
  /**
   * The model reports attention (ADS works): the suite checks that a step's attention row is a
   * distribution over the whole cache; otherwise that asking for it fails with
   * `AttentionUnavailableError` and `capabilities.attentionUnavailableReason` says why.
   */
  readonly attention: boolean;
  /**
   * Sessions expose `kvCache` (KV-cache insertion works): the suite checks that copies append to
   * the cache, hold exactly the source keys, pass each layer's keys once through `transformKeys`
   * and keep what it writes; otherwise that sessions have no `kvCache`.
   */
  readonly kvCache: boolean;
  /**
   * Encoded images have `crop` (the region syntax `<region image=N rows=A-B cols=C-D>` works): the
   * suite checks a crop's grid and boxes and prefills a prompt with a region; otherwise that
   * images have no `crop`.
   */
  readonly crop: boolean;
  /**
   * Precision of the model's weights and activations (default `fp32`); sets the tolerance of the
   * logits comparisons (cached vs one-piece decoding) and of attention sums, see
   * {@link CONFORMANCE_TOLERANCES}. Determinism checks stay exact.
   */
  readonly dtype?: ConformanceDtype;
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

/** The positions of `prompt` followed by one text token at `next` (for a one-piece recompute). */
function withOneMorePosition(prompt: PreparedPrompt, next: { data: Int32Array }): { axes: number; length: number; data: Int32Array } {
  const axes = prompt.positions.axes;
  const length = prompt.length + 1;
  const data = new Int32Array(axes * length);
  for (let ax = 0; ax < axes; ax++) {
    data.set(prompt.positions.data.subarray(ax * prompt.length, (ax + 1) * prompt.length), ax * length);
    data[ax * length + prompt.length] = next.data[ax]!;
  }
  return { axes, length, data };
}

/**
 * Behavioural conformance suite of {@link VisionLanguageModelV1}: every backend runs it with
 * its own models. Capabilities are declared, never discovered by skipping. Nothing in it is
 * O(V^2) or spreads vocabulary-size arrays, so it runs at real vocabulary sizes (151,936).
 */
export function describeModelConformance(
  name: string,
  setup: () => Promise<ModelConformanceSetup>,
  capabilities: ModelConformanceCapabilities,
): void {
  const tolerance = toleranceOf(capabilities.dtype);
  describe(`VisionLanguageModelV1 conformance: ${name}`, () => {
    let s: ModelConformanceSetup;
    let image: EncodedImage;
    const prepare = () => s.model.preparePrompt({ text: s.promptText, images: [image] });
    /** A session prefilled with the prompt, and the prefill's output. */
    const prefilled = async (attention = false) => {
      const prompt = await prepare();
      const session = s.model.createSession();
      const out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention });
      return { prompt, session, out };
    };
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
      expect(s.model.capabilities.kvCache ?? false).toBe(capabilities.kvCache);
      expect(typeof image.crop === 'function').toBe(capabilities.crop);
      expect(s.model.vocabSize).toBeGreaterThan(0);
      expect(s.model.eosTokenIds.length).toBeGreaterThan(0);
      for (const id of s.model.eosTokenIds) {
        expect(id).toBeLessThan(s.model.vocabSize);
        // the tokenizer resolves each eos token's text back to its id
        expect(s.model.tokenizer.tokenToId(s.model.tokenizer.decode([id]))).toBe(id);
      }
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
      const prompt = await prepare();
      expect(prompt.positions.length).toBe(prompt.length);
      expect(prompt.positions.axes).toBe(s.model.family.positionAxes);
      expect(prompt.images).toHaveLength(1);
      expect(prompt.images[0]!.start).toBeGreaterThanOrEqual(0);
      expect(prompt.images[0]!.start + image.patchCount).toBeLessThanOrEqual(prompt.length);
      expect(prompt.nextPosition).toBeGreaterThan(0);
      for (const id of prompt.textTokenIds) expect(id).toBeLessThan(s.model.vocabSize);
    });

    it('rejects a prompt without an image placeholder when an image is given', async () => {
      const text = s.promptText.split(s.model.family.imagePlaceholder).join('');
      await expect(s.model.preparePrompt({ text, images: [image] })).rejects.toBeInstanceOf(PromptError);
    });

    it(`decodes with a KV cache like a one-piece recompute (${capabilities.dtype ?? 'fp32'}: ${tolerance.logits} x max(1, |logit|))`, async () => {
      const { prompt, session: a, out: first } = await prefilled();
      expect(first.logits.length).toBeGreaterThanOrEqual(s.model.vocabSize);
      expect(a.length).toBe(prompt.length);
      const token = argmax(first.logits, s.model.vocabSize);
      const next = s.model.family.textPositions(prompt.nextPosition, 1);
      const incremental = await a.step({ segments: [{ type: 'tokens', ids: [token] }], positions: next });
      expect(a.length).toBe(prompt.length + 1);
      a.dispose();
      // the same sequence in one step
      const b = s.model.createSession();
      const full = await b.step({ segments: [...prompt.segments, { type: 'tokens', ids: [token] }], positions: withOneMorePosition(prompt, next) });
      b.dispose();
      expect(firstLogitDifference(incremental.logits, full.logits, s.model.vocabSize, tolerance.logits)).toBeUndefined();
    });

    it('is deterministic: two sessions give identical logits', async () => {
      const run = async (): Promise<Float32Array> => {
        const { session, out } = await prefilled();
        session.dispose();
        return Float32Array.from(out.logits);
      };
      const a = await run();
      expect(firstLogitDifference(a, await run(), a.length, 0)).toBeUndefined();
    });

    if (capabilities.attention) {
      it(`returns the last position's attention over the whole cache: a distribution (sum within ${tolerance.attentionSum} of 1)`, async () => {
        const { prompt, session, out } = await prefilled(true);
        expect(out.attention).toBeDefined();
        expect(out.attention!.length).toBe(session.length);
        let sum = 0;
        let min = Infinity;
        for (const v of out.attention!) {
          sum += v;
          if (!(v >= min)) min = v;
        }
        expect(min).toBeGreaterThanOrEqual(0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(tolerance.attentionSum);
        const next = await session.step({ segments: [{ type: 'tokens', ids: [0] }], positions: s.model.family.textPositions(prompt.nextPosition, 1), attention: true });
        expect(next.attention!.length).toBe(prompt.length + 1);
        session.dispose();
      });
    } else {
      it('fails clearly when attention is asked for', async () => {
        const prompt = await prepare();
        const session = s.model.createSession();
        await expect(session.step({ segments: prompt.segments, positions: prompt.positions, attention: true })).rejects.toBeInstanceOf(AttentionUnavailableError);
        session.dispose();
      });
    }

    if (capabilities.kvCache) {
      it('gives KV cache access: copies append, hold the source keys exactly, and keep what transformKeys writes', async () => {
        const { prompt, session } = await prefilled();
        const cache = session.kvCache!;
        expect(cache).toBeDefined();
        for (const size of [cache.layers, cache.kvHeads, cache.headDim]) expect(Number.isInteger(size) && size > 0).toBe(true);
        const start = prompt.images[0]!.start;
        const sources = [start, start + image.patchCount - 1, prompt.length - 1];
        const perLayer = cache.kvHeads * sources.length * cache.headDim;
        /** Copy `from`, recording each layer's keys as transformKeys sees them (optionally rewriting them). */
        const copy = (from: readonly number[], rewrite?: (keys: Float32Array) => void): Float32Array[] => {
          const seen: Float32Array[] = [];
          cache.appendCopies(from, (layer, keys) => {
            expect(seen[layer]).toBeUndefined(); // each layer once
            expect(keys.length).toBe(perLayer);
            seen[layer] = Float32Array.from(keys);
            rewrite?.(keys);
          });
          return seen;
        };
        const first = copy(sources);
        expect(Array.from({ length: cache.layers }, (_, layer) => first[layer] !== undefined)).toEqual(new Array(cache.layers).fill(true));
        expect(session.length).toBe(prompt.length + sources.length);
        // copying the copies reads back exactly the keys that were copied
        const copies = sources.map((_, i) => prompt.length + i);
        const again = copy(copies, (keys) => keys.fill(0));
        for (let layer = 0; layer < cache.layers; layer++) expect(firstLogitDifference(again[layer]!, first[layer]!, perLayer, 0)).toBeUndefined();
        // and what transformKeys wrote is what the cache holds
        const zeroed = copy(copies.map((_, i) => prompt.length + sources.length + i));
        for (const keys of zeroed) expect(keys.every((v) => v === 0)).toBe(true);
        expect(session.length).toBe(prompt.length + 3 * sources.length);
        // decoding continues over the grown cache
        const out = await session.step({
          segments: [{ type: 'tokens', ids: [0] }],
          positions: s.model.family.textPositions(prompt.nextPosition, 1),
          attention: capabilities.attention,
        });
        expect(out.logits.length).toBeGreaterThanOrEqual(s.model.vocabSize);
        if (capabilities.attention) expect(out.attention!.length).toBe(session.length);
        session.dispose();
      });
    } else {
      it('declares no KV cache access: sessions have no kvCache', () => {
        const session = s.model.createSession();
        expect(session.kvCache).toBeUndefined();
        session.dispose();
      });
    }

    if (capabilities.crop) {
      it('crops encoded images to regions and prefills a prompt with the region syntax', async () => {
        const rows: [number, number] = [0, Math.min(1, image.grid.rows - 1)];
        const cols: [number, number] = [image.grid.cols > 2 ? 1 : 0, image.grid.cols - 1];
        const region = image.crop!(rows, cols);
        expect(region.grid).toEqual({ rows: rows[1] - rows[0] + 1, cols: cols[1] - cols[0] + 1 });
        expect(region.patchCount).toBe(region.grid.rows * region.grid.cols);
        // a region's patch r, c is the image's patch rows[0] + r, cols[0] + c
        for (let r = 0; r < region.grid.rows; r++)
          for (let c = 0; c < region.grid.cols; c++) {
            const a = region.patchBox(r * region.grid.cols + c);
            const b = image.patchBox((rows[0] + r) * image.grid.cols + cols[0] + c);
            for (const key of ['x', 'y', 'width', 'height'] as const) expect(Math.abs(a[key] - b[key])).toBeLessThan(1e-6);
          }
        const markup = `<region image=1 rows=${rows[0]}-${rows[1]} cols=${cols[0]}-${cols[1]}>`;
        const text = `Example: ${markup} is a region.\n${s.promptText}`;
        const plain = await prepare();
        const prompt = await s.model.preparePrompt({ text, images: [image] });
        expect(prompt.images).toHaveLength(2);
        expect(prompt.images[0]!.region).toBe(true);
        expect(prompt.images[0]!.image.patchCount).toBe(region.patchCount);
        expect(prompt.images[1]!.region ?? false).toBe(false);
        expect(prompt.images[1]!.start).toBeGreaterThanOrEqual(prompt.images[0]!.start + region.patchCount);
        expect(prompt.length).toBeGreaterThanOrEqual(plain.length + region.patchCount);
        const session = s.model.createSession();
        const out = await session.step({ segments: prompt.segments, positions: prompt.positions });
        expect(session.length).toBe(prompt.length);
        expect(out.logits.length).toBeGreaterThanOrEqual(s.model.vocabSize);
        session.dispose();
      });
    } else {
      it('declares no crop: encoded images have no crop (the region syntax is unavailable)', () => {
        expect(image.crop).toBeUndefined();
      });
    }

    it('accepts an insertion block of the family and grows the cache by its length', async () => {
      const { prompt, session } = await prefilled();
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
      const prompt = await prepare();
      const session: DecodingSessionV1 = s.model.createSession();
      const controller = new AbortController();
      controller.abort();
      await expect(session.step({ segments: prompt.segments, positions: prompt.positions, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
      session.dispose();
    });

    const icot = (sampling?: { temperature: number; topP: number; seed: number }) =>
      generateICoT({
        model: s.model,
        prompt: { text: s.promptText, images: [image] },
        selector: s.selector,
        decoder: s.decoder,
        trigger: everyNthTokenTrigger(3),
        k: Math.min(4, image.patchCount),
        maxInsertions: capabilities.attention || !s.selector.requiresAttention ? 2 : 0,
        maxNewTokens: 12,
        ...(sampling ? { sampling } : {}),
      });

    it('runs the whole ICoT loop deterministically under greedy decoding', async () => {
      const a = await icot();
      const b = await icot();
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
      if (capabilities.attention || !s.selector.requiresAttention) expect(a.insertions.length).toBeGreaterThan(0);
    });

    it('samples with temperature and top-p through the loop, the same tokens for the same seed', async () => {
      const a = await icot({ temperature: 0.7, topP: 0.9, seed: 3 });
      const b = await icot({ temperature: 0.7, topP: 0.9, seed: 3 });
      expect(a.tokens).toEqual(b.tokens);
      for (const token of a.tokens) expect(token).toBeLessThan(s.model.vocabSize);
    });
  });
}
