// The examples of docs/design/spec-v2.md: one per extension point of the v2 spec, type-checked and
// run here against the toy model, so the design note cannot drift from the spec.
import { describe, expect, it } from 'vitest';
import {
  createSignalTrigger,
  generateICoT,
  imageTiles,
  patchCell,
  SelectionError,
  type LayerSelection,
  type PatchSelectorV2,
  type RgbImage,
  type SelectionRequest,
  type TriggerV2,
} from './index.js';
import { createTestImage, createToyModel, MockDecoder, MockSelector } from './test/index.js';

// --- 1. A trigger that reads a per-step signal: AIM-CoT's attention shift -------------------------

/** Fire when the attention on the image (mean of the last layers) rises by more than `delta` in one step. */
export function createAttentionShiftTrigger(settings: { readonly delta: number; readonly layers?: LayerSelection }): TriggerV2 {
  return {
    specificationVersion: 'v2',
    name: `attention-shift(${settings.delta})`,
    // asked for, so the loop computes it from the forward pass it runs anyway; plain runs pay nothing
    signals: { imageAttention: { layers: settings.layers ?? { last: 3 } } },
    start() {
      let previous: number | undefined;
      return {
        onToken({ signals }) {
          const now = signals.imageAttention;
          const fire = now !== undefined && previous !== undefined && now - previous > settings.delta;
          previous = now;
          return fire;
        },
      };
    },
  };
}

// --- 2. A selector that reads pixels and the step text ------------------------------------------

const CHANNELS = { red: 0, green: 1, blue: 2 } as const;

/** Mean of `channel` minus the mean of the other two over a box of `pixels`. */
function dominance(pixels: RgbImage, box: { x: number; y: number; width: number; height: number }, channel: number): number {
  let total = 0;
  let n = 0;
  for (let y = Math.floor(box.y); y < Math.ceil(box.y + box.height); y++)
    for (let x = Math.floor(box.x); x < Math.ceil(box.x + box.width); x++) {
      const o = (y * pixels.width + x) * 3;
      total += 2 * pixels.data[o + channel]! - pixels.data[o + ((channel + 1) % 3)]! - pixels.data[o + ((channel + 2) % 3)]!;
      n += 1;
    }
  return n ? total / (2 * n) : 0;
}

/** Grounding by colour: when the step names a colour, the k patches where it dominates; else the k most attended. */
export function createColourSelector(): PatchSelectorV2 {
  return {
    specificationVersion: 'v2',
    name: 'colour',
    requires: { attention: true, pixels: true },
    select(request: SelectionRequest) {
      const { image, pixels, scores, stepText, k, exclude } = request;
      if (!pixels || !scores) throw new SelectionError('The colour selector needs the pixels and the attention scores.');
      const colour = (Object.keys(CHANNELS) as (keyof typeof CHANNELS)[]).find((c) => stepText.toLowerCase().includes(c));
      const rank = (p: number) => (colour ? dominance(pixels, image.patchBox(p), CHANNELS[colour]) : scores[p]!);
      const order = Array.from({ length: image.patchCount }, (_, p) => p).filter((p) => !exclude.has(p));
      order.sort((a, b) => rank(b) - rank(a) || a - b);
      return { indices: order.slice(0, k).sort((a, b) => a - b) };
    },
  };
}

// --- 3. A selector that probes the model on a fork (and in a batch of side runs) -----------------

/** Entropy of softmax(logits), in nats. */
function entropy(logits: Float32Array): number {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let z = 0;
  let weighted = 0;
  for (const v of logits) {
    const e = Math.exp(v - max);
    z += e;
    weighted += e * (v - max);
  }
  return Math.log(z) - weighted / z;
}

/**
 * Information-gain probing (AIM-CoT's AVP, simplified): candidate regions are the k most attended
 * patches and k random ones; each is inserted in a side run, and the region after which the
 * next-token entropy is lowest wins. The main cache never changes.
 */
export function createInformationGainSelector(): PatchSelectorV2 {
  return {
    specificationVersion: 'v2',
    name: 'information-gain',
    requires: { attention: true, fork: true, batchedSideRuns: true },
    async select(request) {
      const { scores, sideRuns, image, k, exclude, random } = request;
      if (!scores || !sideRuns) throw new SelectionError('Information-gain probing needs attention scores and side runs.');
      const free = Array.from({ length: image.patchCount }, (_, p) => p).filter((p) => !exclude.has(p));
      const attended = [...free].sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
      const shuffled = [...free];
      for (let i = 0; i < Math.min(k, shuffled.length); i++) {
        const j = i + random.int(shuffled.length - i);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const candidates = [attended, shuffled.slice(0, k)].map((c) => c.sort((a, b) => a - b));
      const block = (patches: number[]) => sideRuns.model.family.insertionBlock({ image, patches, start: sideRuns.position, layout: 'grid' });
      // one candidate on a fork (no cache copy) ...
      const fork = sideRuns.fork();
      const first = await fork.step(block(candidates[0]!));
      fork.dispose();
      // ... the others in one batched forward pass (the cache copied once per batch row)
      const rest = await sideRuns.sideRuns(candidates.slice(1).map(block));
      const entropies = [first, ...rest].map((out) => entropy(out.logits));
      return { indices: candidates[entropies.indexOf(Math.min(...entropies))]! };
    },
  };
}

// --- 4. A tiled image's patch map ---------------------------------------------------------------

describe('the design note examples', () => {
  it('a tiled image: each patch has a tile, a cell, a box in the original image and a cache index', async () => {
    // 2 x 2 tiles of 2 x 2 patches plus the global view; a <tile> token precedes each tile in the prompt
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 2, cols: 2 } });
    const image = await model.encodeImage(createTestImage(64, 64));
    const prompt = await model.preparePrompt({ text: 'look <image>.', images: [image] });
    const { cacheIndices } = prompt.images[0]!;
    expect(imageTiles(image).map((t) => t.place)).toEqual([{ row: 0, col: 0 }, { row: 0, col: 1 }, { row: 1, col: 0 }, { row: 1, col: 1 }, 'global']);
    expect(Array.from(cacheIndices)).toEqual([6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19, 21, 22, 23, 24, 26, 27, 28, 29]);
    expect(patchCell(image, 7)).toEqual({ tile: 1, row: 1, col: 1 }); // tile (0, 1), bottom right
    expect(image.patchBox(7)).toEqual({ x: 48, y: 16, width: 16, height: 16 });
    expect(image.patchBox(19)).toEqual({ x: 32, y: 32, width: 32, height: 32 }); // the global view's last patch
  });

  it('the attention-shift trigger fires on a rise of the image attention, from signals it asked for', async () => {
    const model = createToyModel({ layers: 4 });
    const image = await model.encodeImage(createTestImage());
    const result = await generateICoT({
      model,
      prompt: { text: 'look <image> and think.', images: [image] },
      selector: new MockSelector(),
      decoder: new MockDecoder(),
      trigger: createAttentionShiftTrigger({ delta: 0.001 }),
      maxNewTokens: 12,
    });
    expect(model.steps.every((s) => s.layerAttention?.join() === '1,2,3')).toBe(true);
    expect(result.insertions.length).toBeGreaterThan(0);
  });

  it('the colour selector grounds "red" in the pixels', async () => {
    const model = createToyModel({ grid: { rows: 4, cols: 4 } });
    const pixels = createTestImage(32, 32);
    for (let y = 24; y < 32; y++) for (let x = 0; x < 8; x++) pixels.data.set([255, 0, 0], (y * 32 + x) * 3); // bottom-left patch
    const image = await model.encodeImage(pixels);
    const result = await generateICoT({
      model,
      prompt: { text: 'look <image> and think.', images: [image] },
      selector: createColourSelector(),
      decoder: new MockDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: [...model.tokenizer.encode('abcdefghijklmnopqrstuvwxyz')] } }),
      k: 1,
      maxInsertions: 1,
      maxNewTokens: 12,
    });
    expect(result.insertions[0]!.selected).toHaveLength(1); // the toy's gibberish names no colour: the most attended patch
    // a step that names the colour
    const selection = await createColourSelector().select({
      scores: new Float32Array(16),
      image,
      cacheIndices: new Int32Array(16),
      pixels,
      k: 1,
      exclude: new Set(),
      step: 0,
      stepText: 'The red square is at the bottom left.',
      random: { next: () => 0, int: () => 0 } as never,
    });
    expect(selection.indices).toEqual([12]);
  });

  it('the information-gain selector probes side runs and leaves the main run unchanged', async () => {
    const model = createToyModel();
    const image = await model.encodeImage(createTestImage());
    const options = { model, prompt: { text: 'look <image> and think.', images: [image] }, decoder: new MockDecoder(), k: 3, maxNewTokens: 10 };
    const trigger = createSignalTrigger({ signal: { tokenIds: Array.from({ length: 32 }, (_, i) => i) }, every: 3 }); // every third character
    const probed = await generateICoT({ ...options, selector: createInformationGainSelector(), trigger });
    expect(probed.insertions.length).toBeGreaterThan(0);
    for (const insertion of probed.insertions) expect(insertion.selected).toHaveLength(3);
    // the same patches chosen directly give the same run: probing left no trace in the cache
    const chosen = probed.insertions.map((i) => i.selected);
    let n = 0;
    const replay = await generateICoT({ ...options, selector: new MockSelector({ select: () => ({ indices: chosen[n++]! }) }), trigger });
    expect(replay.tokens).toEqual(probed.tokens);
  });
});
