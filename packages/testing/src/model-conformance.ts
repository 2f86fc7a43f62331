import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import {
  AbortedError,
  AttentionUnavailableError,
  IcotError,
  PromptError,
  generateICoT,
  imageTiles,
  type PromptImage,
  type StepInput,
  type DecodingSessionV2,
  type EncodedImage,
  type InsertionDecoderV2,
  type PatchSelectorV2,
  type PreparedPrompt,
  type RgbImage,
  type VisionLanguageModelV2,
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
   * Steps honour `layerAttention` (per-step signals for triggers): the suite checks that the row
   * averaged over all attention layers equals the `attention` row, that a one-layer row is a
   * distribution over the cache, and both come from one step; otherwise that asking for it fails
   * with an `IcotError`.
   */
  readonly layerAttention: boolean;
  /**
   * Sessions fork: the suite checks that a fork continues exactly like a fresh session fed the
   * same inputs, that neither the fork's steps nor its disposal change the original (and the other
   * way round: a fork outlives the session it came from), and that forks of forks work; otherwise
   * that sessions have no `fork`.
   */
  readonly fork: boolean;
  /**
   * Sessions run batched side runs: the suite checks that each row's output matches the same input
   * fed to a fork, that the session's cache is unchanged, and that inputs of unequal lengths are
   * refused with an `IcotError`; otherwise that sessions have no `sideRuns`.
   */
  readonly batchedSideRuns: boolean;
  /** Encoded images carry the decoded image (`pixels`): the suite checks it is the image given; otherwise that there is none. */
  readonly pixels: boolean;
  /**
   * Images are tiled: the suite checks the tiles (consecutive patch ranges, boxes inside the image,
   * each patch's box inside its tile's) and that the patch map puts other inputs between tiles;
   * otherwise that images have no tiles and the patch map is one contiguous run.
   */
  readonly tiledImages: boolean;
  /**
   * Precision of the model's weights and activations (default `fp32`); sets the tolerance of the
   * logits comparisons (cached vs one-piece decoding) and of attention sums, see
   * {@link CONFORMANCE_TOLERANCES}. Determinism checks stay exact.
   */
  readonly dtype?: ConformanceDtype;
  /**
   * The context length the model states (`maxContextTokens`, from its config). Declared: the suite
   * checks the model states exactly it, and runs ICoT past it (more new tokens than the context
   * has room for, end-of-sequence off) to check that the run ends with finish reason
   * `context-limit`, that prompt, generated and inserted tokens fill the context exactly when no
   * insertion is made, and that the session's cache never grows past it. Declare a short context
   * (a generated model with a few hundred positions), as the run goes to its end. Undeclared: the
   * suite checks only that a stated length is an integer longer than the test prompt.
   */
  readonly maxContextTokens?: number;
}

/** How the suite gets a model to test. */
export interface ModelConformanceSetup {
  readonly model: VisionLanguageModelV2;
  /** An image the model accepts. */
  readonly image: RgbImage;
  /** A prompt with exactly one image placeholder. */
  readonly promptText: string;
  /** ICoT parts for the end-to-end check. */
  readonly selector: PatchSelectorV2;
  readonly decoder: InsertionDecoderV2;
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

/** What each cache index of a prompt holds when its segments are fed in order: an image patch, or nothing (a text token). */
function feedsOf(segments: PreparedPrompt['segments']): Map<number, { image: PromptImage['image']; patch: number }> {
  const fed = new Map<number, { image: PromptImage['image']; patch: number }>();
  let offset = 0;
  for (const segment of segments) {
    if (segment.type === 'tokens') offset += segment.ids.length;
    else for (const patch of segment.patches ?? Array.from({ length: segment.image.patchCount }, (_, i) => i)) fed.set(offset++, { image: segment.image, patch });
  }
  return fed;
}

/**
 * A view of `model` that never ends a run with an end-of-sequence token (so only the limits do),
 * whose sessions record the longest cache they reached.
 */
function contextView(model: VisionLanguageModelV2): { readonly view: VisionLanguageModelV2; readonly longest: () => number } {
  let longest = 0;
  const view: VisionLanguageModelV2 = Object.create(model, {
    eosTokenIds: { value: [] },
    createSession: {
      value: (): DecodingSessionV2 => {
        const session = model.createSession();
        const note = <T>(out: T): T => ((longest = Math.max(longest, session.length)), out);
        return {
          get length() {
            return session.length;
          },
          ...(session.kvCache ? { kvCache: session.kvCache } : {}),
          step: async (input: StepInput) => note(await session.step(input)),
          dispose: () => session.dispose(),
        };
      },
    },
  }) as VisionLanguageModelV2;
  return { view, longest: () => longest };
}

/** The sum and smallest entry of a row. */
function rowStats(row: Float32Array): { sum: number; min: number } {
  let sum = 0;
  let min = Infinity;
  for (const v of row) {
    sum += v;
    if (!(v >= min)) min = v;
  }
  return { sum, min };
}

/**
 * Behavioural conformance suite of {@link VisionLanguageModelV2}: every backend runs it with
 * its own models. Capabilities are declared, never discovered by skipping. Nothing in it is
 * O(V^2) or spreads vocabulary-size arrays, so it runs at real vocabulary sizes (151,936).
 */
export function describeModelConformance(
  name: string,
  setup: () => Promise<ModelConformanceSetup>,
  capabilities: ModelConformanceCapabilities,
): void {
  const tolerance = toleranceOf(capabilities.dtype);
  describe(`VisionLanguageModelV2 conformance: ${name}`, () => {
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

    it('declares the v2 specification and its capabilities', () => {
      expect(s.model.specificationVersion).toBe('v2');
      expect(s.model.family.specificationVersion).toBe('v2');
      const caps = s.model.capabilities;
      expect({
        attention: caps.attention,
        kvCache: caps.kvCache,
        layerAttention: caps.layerAttention,
        fork: caps.fork,
        batchedSideRuns: caps.batchedSideRuns,
        pixels: caps.pixels,
        tiledImages: caps.tiledImages,
      }).toEqual({
        attention: capabilities.attention,
        kvCache: capabilities.kvCache,
        layerAttention: capabilities.layerAttention,
        fork: capabilities.fork,
        batchedSideRuns: capabilities.batchedSideRuns,
        pixels: capabilities.pixels,
        tiledImages: capabilities.tiledImages,
      });
      if (!capabilities.attention) expect(caps.attentionUnavailableReason).toBeTruthy();
      expect(Number.isInteger(caps.decoderLayers) && caps.decoderLayers > 0).toBe(true);
      if (capabilities.attention) {
        expect(caps.attentionLayers.length).toBeGreaterThan(0);
        for (const layer of caps.attentionLayers) expect(layer >= 0 && layer < caps.decoderLayers).toBe(true);
      } else expect(caps.attentionLayers).toEqual([]);
      expect(typeof image.crop === 'function').toBe(capabilities.crop);
      expect(s.model.vocabSize).toBeGreaterThan(0);
      expect(s.model.eosTokenIds.length).toBeGreaterThan(0);
      for (const id of s.model.eosTokenIds) {
        expect(id).toBeLessThan(s.model.vocabSize);
        // the tokenizer resolves each eos token's text back to its id
        expect(s.model.tokenizer.tokenToId(s.model.tokenizer.decode([id]))).toBe(id);
      }
    });

    it('encodes an image into patches with boxes inside the image, in raster order of their grid', () => {
      const tiles = imageTiles(image);
      expect(image.patchCount).toBe(tiles.reduce((n, t) => n + t.grid.rows * t.grid.cols, 0));
      if (!image.tiles) expect(image.patchCount).toBe(image.grid.rows * image.grid.cols);
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
      // each grid covers the image, or the part a cropping processor keeps
      expect(area).toBeGreaterThan(0);
      expect(area).toBeLessThanOrEqual(tiles.length * s.image.width * s.image.height + 1e-3);
      // raster order: patch 1 is right of patch 0 when the grid has more than one column
      if (image.grid.cols > 1) expect(image.patchBox(1).x).toBeGreaterThan(image.patchBox(0).x);
    });

    it('prepares a prompt: one position per input, the image at its offset', async () => {
      const prompt = await prepare();
      expect(prompt.positions.length).toBe(prompt.length);
      expect(prompt.positions.axes).toBe(s.model.family.positionAxes);
      expect(prompt.images).toHaveLength(1);
      expect(prompt.nextPosition).toBeGreaterThan(0);
      for (const id of prompt.textTokenIds) expect(id).toBeLessThan(s.model.vocabSize);
    });

    it("gives every prompt image a patch map: patch p of the image is the input at cache index cacheIndices[p]", async () => {
      const prompt = await prepare();
      const fed = feedsOf(prompt.segments);
      for (const entry of prompt.images) {
        const map = entry.cacheIndices;
        expect(map.length).toBe(entry.image.patchCount);
        for (let p = 0; p < map.length; p++) expect(fed.get(map[p]!)).toEqual({ image: entry.image, patch: p });
      }
      const map = prompt.images[0]!.cacheIndices;
      const contiguous = map.every((c, p) => c === map[0]! + p);
      if (capabilities.tiledImages) expect(contiguous).toBe(false); // the family's separators sit between tiles
      else expect(contiguous).toBe(true);
    });

    if (capabilities.tiledImages)
      it('tiles images: consecutive patch ranges, boxes inside the image, each patch inside its tile', () => {
        const tiles = image.tiles!;
        expect(tiles.length).toBeGreaterThan(1);
        let next = 0;
        for (const tile of tiles) {
          expect(tile.firstPatch).toBe(next);
          next += tile.grid.rows * tile.grid.cols;
          const b = tile.box;
          expect(b.x >= -1e-6 && b.y >= -1e-6 && b.x + b.width <= s.image.width + 1e-6 && b.y + b.height <= s.image.height + 1e-6).toBe(true);
          for (let p = tile.firstPatch; p < next; p++) {
            const box = image.patchBox(p);
            expect(box.x >= b.x - 1e-6 && box.y >= b.y - 1e-6 && box.x + box.width <= b.x + b.width + 1e-6 && box.y + box.height <= b.y + b.height + 1e-6).toBe(true);
          }
        }
        expect(next).toBe(image.patchCount);
      });
    else
      it('declares no tiled images: images have no tiles', () => {
        expect(image.tiles).toBeUndefined();
      });

    if (capabilities.pixels)
      it('keeps the decoded image on the encoded image (for selectors that read pixels)', () => {
        expect(image.pixels).toBeDefined();
        expect({ width: image.pixels!.width, height: image.pixels!.height }).toEqual({ width: s.image.width, height: s.image.height });
        expect(image.pixels!.data).toEqual(s.image.data);
      });
    else
      it('declares no pixels: encoded images carry none', () => {
        expect(image.pixels).toBeUndefined();
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

    const token = (ids: number[]): StepInput['segments'] => [{ type: 'tokens', ids }];
    if (capabilities.layerAttention) {
      it(`returns the attention row averaged over chosen layers from the same step (all of them: the attention row, within ${tolerance.attention})`, async () => {
        const prompt = await prepare();
        const layers = s.model.capabilities.attentionLayers;
        const session = s.model.createSession();
        const out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true, layerAttention: layers });
        expect(out.layerAttention!.length).toBe(session.length);
        let worst = 0;
        for (let j = 0; j < session.length; j++) worst = Math.max(worst, Math.abs(out.layerAttention![j]! - out.attention![j]!));
        expect(worst).toBeLessThanOrEqual(tolerance.attention);
        const last = layers.at(-1)!;
        const one = await session.step({ segments: token([0]), positions: s.model.family.textPositions(prompt.nextPosition, 1), layerAttention: [last] });
        expect(one.attention).toBeUndefined();
        expect(one.layerAttention!.length).toBe(session.length);
        const { sum, min } = rowStats(one.layerAttention!);
        expect(min).toBeGreaterThanOrEqual(0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(tolerance.attentionSum);
        if (layers.length > 1) {
          // one layer's row is its own, not the average of all
          const all = await session.step({ segments: token([0]), positions: s.model.family.textPositions(prompt.nextPosition + 1, 1), attention: true, layerAttention: [last] });
          let gap = 0;
          for (let j = 0; j < session.length; j++) gap = Math.max(gap, Math.abs(all.layerAttention![j]! - all.attention![j]!));
          expect(gap).toBeGreaterThan(tolerance.attention);
        }
        session.dispose();
      });
    } else {
      it('declares no per-layer attention: asking for it fails with an IcotError', async () => {
        const prompt = await prepare();
        const session = s.model.createSession();
        const error = await session.step({ segments: prompt.segments, positions: prompt.positions, layerAttention: [0] }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(IcotError.is(error)).toBe(true);
        session.dispose();
      });
    }

    /** Logits after `inputs` fed one by one to a fresh session prefilled with `prompt`. */
    const freshAfter = async (prompt: PreparedPrompt, ...inputs: StepInput[]): Promise<Float32Array> => {
      const session = s.model.createSession();
      let out = await session.step({ segments: prompt.segments, positions: prompt.positions });
      for (const input of inputs) out = await session.step(input);
      session.dispose();
      return out.logits;
    };
    /** `a` and `b` agree within `within` over the vocabulary. */
    const same = (a: Float32Array, b: Float32Array, within = 0): void => expect(firstLogitDifference(a, b, s.model.vocabSize, within)).toBeUndefined();

    if (capabilities.fork) {
      it('forks sessions: a fork continues like a fresh session, and neither changes the other, even after disposal', async () => {
        const { prompt, session: main } = await prefilled();
        const at = (offset: number, n = 1) => s.model.family.textPositions(prompt.nextPosition + offset, n);
        const fork = main.fork!();
        expect(fork.length).toBe(main.length);
        const forkOut = await fork.step({ segments: token([1, 2]), positions: at(0, 2) });
        expect(fork.length).toBe(prompt.length + 2);
        expect(main.length).toBe(prompt.length);
        const grandchild = fork.fork!();
        // the original after the fork's steps equals a session that never forked
        const mainOut = await main.step({ segments: token([3]), positions: at(0) });
        same(mainOut.logits, await freshAfter(prompt, { segments: token([3]), positions: at(0) }));
        // the fork equals a fresh session fed the fork's inputs
        same(forkOut.logits, await freshAfter(prompt, { segments: token([1, 2]), positions: at(0, 2) }));
        const expectedNext = await freshAfter(prompt, { segments: token([1, 2]), positions: at(0, 2) }, { segments: token([4]), positions: at(2) });
        // forks outlive what they came from: dispose the original, step the fork; dispose the fork, step the grandchild
        main.dispose();
        same((await fork.step({ segments: token([4]), positions: at(2) })).logits, expectedNext);
        fork.dispose();
        same((await grandchild.step({ segments: token([4]), positions: at(2) })).logits, expectedNext);
        grandchild.dispose();
      });
    } else {
      it('declares no forks: sessions have no fork', () => {
        const session = s.model.createSession();
        expect(session.fork).toBeUndefined();
        session.dispose();
      });
    }

    if (capabilities.batchedSideRuns) {
      it(`runs batched side runs: each row like the same input on a fresh session (${tolerance.logits}), the cache unchanged, unequal lengths refused`, async () => {
        const { prompt, session } = await prefilled();
        const at = s.model.family.textPositions(prompt.nextPosition, 2);
        const inputs: StepInput[] = [token([1, 2]), token([5, 6]), token([1, 2])].map((segments) => ({ segments, positions: at }));
        const outs = await session.sideRuns!(inputs);
        expect(outs).toHaveLength(3);
        expect(session.length).toBe(prompt.length);
        for (const [i, input] of inputs.entries()) same(outs[i]!.logits, await freshAfter(prompt, input), tolerance.logits);
        expect(firstLogitDifference(outs[0]!.logits, outs[1]!.logits, s.model.vocabSize, 0)).toBeDefined();
        // the session goes on as if nothing happened
        const next: StepInput = { segments: token([3]), positions: s.model.family.textPositions(prompt.nextPosition, 1) };
        same((await session.step(next)).logits, await freshAfter(prompt, next));
        const uneven = await session.sideRuns!([inputs[0]!, next]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(IcotError.is(uneven)).toBe(true);
        session.dispose();
      });
    } else {
      it('declares no batched side runs: sessions have no sideRuns', () => {
        const session = s.model.createSession();
        expect(session.sideRuns).toBeUndefined();
        session.dispose();
      });
    }

    if (capabilities.kvCache) {
      it('gives KV cache access: copies append, hold the source keys exactly, and keep what transformKeys writes', async () => {
        const { prompt, session } = await prefilled();
        const cache = session.kvCache!;
        expect(cache).toBeDefined();
        for (const size of [cache.layers, cache.kvHeads, cache.headDim]) expect(Number.isInteger(size) && size > 0).toBe(true);
        const map = prompt.images[0]!.cacheIndices;
        const sources = [map[0]!, map[image.patchCount - 1]!, prompt.length - 1];
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
        expect(prompt.images[1]!.cacheIndices[0]).toBeGreaterThanOrEqual(prompt.images[0]!.cacheIndices[0]! + region.patchCount);
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
      const session: DecodingSessionV2 = s.model.createSession();
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
        maxInsertions: capabilities.attention || !s.selector.requires.attention ? 2 : 0,
        maxNewTokens: 12,
        ...(sampling ? { sampling } : {}),
      });

    it('runs the whole ICoT loop deterministically under greedy decoding', async () => {
      const a = await icot();
      const b = await icot();
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
      if (capabilities.attention || !s.selector.requires.attention) expect(a.insertions.length).toBeGreaterThan(0);
    });

    it('samples with temperature and top-p through the loop, the same tokens for the same seed', async () => {
      const a = await icot({ temperature: 0.7, topP: 0.9, seed: 3 });
      const b = await icot({ temperature: 0.7, topP: 0.9, seed: 3 });
      expect(a.tokens).toEqual(b.tokens);
      for (const token of a.tokens) expect(token).toBeLessThan(s.model.vocabSize);
    });

    const limit = capabilities.maxContextTokens;
    if (limit !== undefined)
      it(`states its context length (${limit}), and an ICoT run ends there with finish reason context-limit`, async () => {
        expect(s.model.maxContextTokens).toBe(limit);
        const promptTokens = (await prepare()).length;
        expect(promptTokens).toBeLessThan(limit);
        const insertions = capabilities.attention || !s.selector.requires.attention ? 3 : 0;
        for (const maxInsertions of [0, insertions]) {
          const { view, longest } = contextView(s.model);
          const result = await generateICoT({
            model: view,
            prompt: { text: s.promptText, images: [image] },
            selector: s.selector,
            decoder: s.decoder,
            trigger: everyNthTokenTrigger(4),
            k: Math.min(4, image.patchCount),
            maxInsertions,
            maxNewTokens: limit + 10,
          });
          const { promptTokens: prompt, generatedTokens, insertedTokens } = result.usage;
          expect(result.finishReason).toBe('context-limit');
          expect(result.settings.maxContextTokens).toBe(limit);
          expect(prompt).toBe(promptTokens);
          expect(prompt + generatedTokens + insertedTokens).toBeLessThanOrEqual(limit);
          expect(longest()).toBeLessThanOrEqual(limit);
          if (maxInsertions === 0) {
            expect(prompt + generatedTokens).toBe(limit); // the context is full
            expect(longest()).toBe(limit - 1); // the last token is predicted, never fed
          }
        }
      });
    else
      it('states no context length, or an integer one longer than the test prompt', async () => {
        const stated = s.model.maxContextTokens;
        if (stated === undefined) return;
        expect(Number.isInteger(stated)).toBe(true);
        expect(stated).toBeGreaterThan((await prepare()).length);
      });
  });
}
