import { describe, expect, it } from 'vitest';
import { AttentionUnavailableError, CapabilityError } from './errors.js';
import { generateICoT } from './generate.js';
import { gatherPositions, imageTiles, massAt, patchCell } from './patches.js';
import { TokenSampler } from './sampling.js';
import type { DecodingSessionV2, StepInput, StepOutput, VisionLanguageModelV2 } from './spec/model.js';
import { createTestImage, createToyModel, MockDecoder, MockSelector, MockTrigger, TOY_TILE_TOKEN, type ToyModelSettings } from './test/index.js';

async function setup(settings: ToyModelSettings = {}) {
  const model = createToyModel(settings);
  const image = await model.encodeImage(createTestImage(32, 32));
  return { model, image, prompt: { text: 'look <image> and think.', images: [image] } };
}

/** A model whose sessions record every step's output. */
function recording(model: VisionLanguageModelV2): { model: VisionLanguageModelV2; outputs: { input: StepInput; output: StepOutput }[] } {
  const outputs: { input: StepInput; output: StepOutput }[] = [];
  const wrap = (session: DecodingSessionV2): DecodingSessionV2 =>
    Object.assign(Object.create(session) as DecodingSessionV2, {
      step: async (input: StepInput) => {
        const output = await session.step(input);
        outputs.push({ input, output });
        return output;
      },
    });
  return { model: { ...model, createSession: () => wrap(model.createSession()) }, outputs };
}

describe('tiled images: the patch map', () => {
  it('places each tile after its separator token, and scores, boxes and cells follow the map', async () => {
    const { model, image, prompt } = await setup({ grid: { rows: 2, cols: 2 }, tiles: { rows: 1, cols: 2 } });
    expect(image.tiles).toHaveLength(3); // two tiles and the global view
    expect(image.patchCount).toBe(12);
    const prepared = await model.preparePrompt(prompt);
    const map = prepared.images[0]!.cacheIndices;
    // walk the segments: patch p of the image is fed at map[p], and a <tile> token precedes each tile
    let offset = 0;
    const seen = new Map<number, number>();
    const tileTokens: number[] = [];
    for (const segment of prepared.segments) {
      if (segment.type === 'tokens') {
        segment.ids.forEach((id, i) => id === TOY_TILE_TOKEN && tileTokens.push(offset + i));
        offset += segment.ids.length;
      } else for (const p of segment.patches ?? []) seen.set(p, offset++);
    }
    expect(Array.from(map)).toEqual(Array.from({ length: 12 }, (_, p) => seen.get(p)));
    expect(tileTokens).toEqual([map[0]! - 1, map[4]! - 1, map[8]! - 1]);
    expect(patchCell(image, 5)).toEqual({ tile: 1, row: 0, col: 1 });
    expect(image.patchBox(5)).toEqual({ x: 24, y: 0, width: 8, height: 16 });
    expect(image.patchBox(11)).toEqual({ x: 16, y: 16, width: 16, height: 16 }); // the global view's last patch

    const { model: spy, outputs } = recording(model);
    const selector = new MockSelector({ select: () => ({ indices: [3, 4, 11] }) });
    const result = await generateICoT({ model: spy, prompt: prepared, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), k: 3, maxNewTokens: 4 });
    const row = outputs.find((o) => o.output.attention)!.output.attention!;
    expect(Array.from(selector.requests[0]!.scores!)).toEqual(Array.from(map, (c) => row[c]!));
    expect(selector.requests[0]!.cacheIndices).toBe(map);
    const insertion = result.insertions[0]!;
    expect(insertion.cells).toEqual([patchCell(image, 3), patchCell(image, 4), patchCell(image, 11)]);
    expect(insertion.boxes).toEqual([3, 4, 11].map((p) => image.patchBox(p)));
    expect(insertion.scores).toEqual([3, 4, 11].map((p) => row[map[p]!]!));
  });

  it('gives single-grid images one implicit tile and raster cells', async () => {
    const { image } = await setup();
    expect(image.tiles).toBeUndefined();
    expect(imageTiles(image)).toEqual([{ grid: { rows: 4, cols: 4 }, firstPatch: 0, box: { x: 0, y: 0, width: 32, height: 32 }, place: { row: 0, col: 0 } }]);
    expect(patchCell(image, 6)).toEqual({ tile: 0, row: 1, col: 2 });
  });

  it('hands the decoder the patch map and the positions read through it', async () => {
    const { model, prompt } = await setup({ grid: { rows: 2, cols: 2 }, tiles: { rows: 2, cols: 1, global: false } });
    const prepared = await model.preparePrompt(prompt);
    const decoder = new MockDecoder();
    await generateICoT({ model, prompt: prepared, selector: new MockSelector(), decoder, trigger: new MockTrigger({ steps: [0] }), k: 2, maxNewTokens: 2 });
    const request = decoder.requests[0]!;
    expect(request.cacheIndices).toBe(prepared.images[0]!.cacheIndices);
    expect(request.imagePositions).toEqual(gatherPositions(prepared.positions, prepared.images[0]!.cacheIndices));
  });
});

describe('per-step trigger signals', () => {
  it('plain runs ask for nothing: no per-layer attention, empty signals', async () => {
    const { model, prompt } = await setup();
    const trigger = new MockTrigger({ steps: [2] });
    await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger, k: 2, maxNewTokens: 6 });
    expect(model.steps.every((s) => s.layerAttention === undefined)).toBe(true);
    expect(trigger.contexts.every((c) => Object.keys(c.signals).length === 0)).toBe(true);
  });

  it('gives each token the image attention over the chosen layers and the probability gap of the distribution it came from', async () => {
    const { model: toy, prompt } = await setup({ layers: 3 });
    const { model, outputs } = recording(toy);
    const prepared = await toy.preparePrompt(prompt);
    const trigger = new MockTrigger({ steps: [3], signals: { imageAttention: { layers: { last: 2 } }, probabilityGap: true } });
    const sampling = { temperature: 0.7, repetitionPenalty: 1.3, seed: 4 };
    const result = await generateICoT({ model, prompt: prepared, selector: new MockSelector(), decoder: new MockDecoder(), trigger, k: 2, maxNewTokens: 8, sampling });
    // every pass (prefill, tokens, the inserted block) computed the row over layers 1 and 2, in the same pass
    expect(outputs.every((o) => o.input.layerAttention?.join() === '1,2' && o.output.layerAttention !== undefined)).toBe(true);
    expect(outputs.length).toBe(1 + 7 + 1);
    const map = prepared.images[0]!.cacheIndices;
    // token t was sampled from the logits of pass t (pass 4 is the block inserted after token 3)
    const passOf = (step: number) => outputs[step + (step > 3 ? 1 : 0)]!.output;
    const sampler = new TokenSampler(toy.vocabSize, sampling, toy.family.suppressedTokenIds);
    sampler.observe(prepared.textTokenIds);
    trigger.contexts.forEach((context, step) => {
      expect(context.signals.imageAttention).toBeCloseTo(massAt(passOf(step).layerAttention!, map), 6);
      expect(context.signals.probabilityGap).toBeCloseTo(sampler.probabilityGap(passOf(step).logits), 12);
      sampler.observe([result.tokens[step]!]);
    });
    expect(trigger.contexts).toHaveLength(7);
  });

  it('refuses a trigger whose signals the model cannot give, naming the capability', async () => {
    const signals = { imageAttention: { layers: { last: 1 } } } as const;
    const run = (model: VisionLanguageModelV2, prompt: Parameters<typeof generateICoT>[0]['prompt']) =>
      generateICoT({ model, prompt, selector: new MockSelector({ requires: { attention: false } }), decoder: new MockDecoder(), trigger: new MockTrigger({ signals }), maxNewTokens: 2 });
    const flat = await setup({ layerAttention: false });
    await expect(run(flat.model, flat.prompt)).rejects.toMatchObject({ capability: 'layerAttention' });
    const blind = await setup({ attention: false });
    await expect(run(blind.model, blind.prompt)).rejects.toBeInstanceOf(AttentionUnavailableError);
    const partial = await setup({ layers: 4 });
    const notRead = { ...partial.model, capabilities: { ...partial.model.capabilities, attentionLayers: [0, 1] } };
    await expect(run(notRead, partial.prompt)).rejects.toThrow(/layer\(s\) 3/);
  });
});

describe('the selection context', () => {
  it('gives the selector the pixels and the text of the step that just ended', async () => {
    const { model, image, prompt } = await setup();
    const selector = new MockSelector({ requires: { attention: true, pixels: true } });
    const result = await generateICoT({ model, prompt, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1, 3] }), k: 2, maxNewTokens: 8 });
    expect(result.insertions).toHaveLength(2);
    expect(selector.requests[0]!.pixels).toBe(image.pixels);
    expect(selector.requests[0]!.pixels!.width).toBe(32);
    expect(selector.requests[0]!.stepText).toBe(model.tokenizer.decode(result.tokens.slice(0, 2)));
    expect(selector.requests[1]!.stepText).toBe(model.tokenizer.decode(result.tokens.slice(2, 4)));
    expect(selector.requests[1]!.stepText.length).toBeGreaterThan(0);
    expect(selector.requests[0]!.sideRuns).toBeUndefined();
  });

  it('side runs through a fork leave the main run exactly as it would have been', async () => {
    const { model, prompt } = await setup();
    const base = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1, 4] }), k: 3, maxNewTokens: 10 });
    const probed: number[][] = [];
    const forks: DecodingSessionV2[] = [];
    const prober = new MockSelector({
      requires: { attention: true, fork: true, batchedSideRuns: true },
      select: async (request) => {
        const side = request.sideRuns!;
        const fork = side.fork();
        forks.push(fork);
        const before = fork.length;
        // "what if patches 0..2 were inserted": feed the block on the fork, and a batch of two candidates
        const block = side.model.family.insertionBlock({ image: request.image, patches: [0, 1, 2], start: side.position, layout: 'grid' });
        await fork.step({ segments: block.segments, positions: block.positions });
        expect(fork.length).toBe(before + 3);
        const outs = await side.sideRuns([0, 5].map((p) => side.model.family.insertionBlock({ image: request.image, patches: [p], start: side.position, layout: 'grid' })));
        probed.push(outs.map((o) => o.logits.indexOf(Math.max(...o.logits))));
        return { indices: [0, 1, 2] };
      },
    });
    const withProbes = await generateICoT({ model, prompt, selector: prober, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1, 4] }), k: 3, maxNewTokens: 10 });
    expect(withProbes.tokens).toEqual(base.tokens);
    expect(withProbes.insertions.map((i) => i.selected)).toEqual(base.insertions.map((i) => i.selected));
    expect(probed).toHaveLength(2);
    // the loop disposed the forks the selector left open
    await expect(forks[0]!.step({ segments: [{ type: 'tokens', ids: [0] }], positions: model.family.textPositions(0, 1) })).rejects.toThrow(/disposed/);
  });

  it('refuses selectors whose needs the model lacks, naming the capability', async () => {
    const cases = [
      ['pixels', { pixels: false }],
      ['fork', { fork: false }],
      ['batchedSideRuns', { batchedSideRuns: false }],
    ] as const;
    for (const [capability, settings] of cases) {
      const { model, prompt } = await setup(settings);
      const selector = new MockSelector({ requires: { attention: true, [capability]: true } });
      const error = await generateICoT({ model, prompt, selector, decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CapabilityError);
      expect((error as CapabilityError).capability).toBe(capability);
      expect((error as CapabilityError).message).toContain(`'${capability}'`);
      expect((error as CapabilityError).hint).toBeTruthy();
    }
    // a decoder that needs the KV cache on a model without it
    const { model, prompt } = await setup();
    const noCache = { ...model, capabilities: { ...model.capabilities, kvCache: false } };
    const kvDecoder = Object.assign(new MockDecoder(), { requires: { kvCache: true } });
    await expect(generateICoT({ model: noCache, prompt, selector: new MockSelector(), decoder: kvDecoder, trigger: new MockTrigger(), maxNewTokens: 2 })).rejects.toMatchObject({ capability: 'kvCache' });
  });
});

describe('family defaults', () => {
  const withDefaults = async (defaults: { insertAfterPrompt: boolean; excludeSelected: boolean; k: number }) => {
    const s = await setup();
    return { ...s, model: { ...s.model, family: { ...s.model.family, defaults } } };
  };

  it('are applied by the loop: a Chameleon-like family inserts after the prompt and excludes earlier picks without being asked', async () => {
    const { model, prompt } = await withDefaults({ insertAfterPrompt: true, excludeSelected: true, k: 3 });
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), maxNewTokens: 4 });
    expect(result.settings).toEqual({ k: 3, maxInsertions: 3, insertAfterPrompt: true, excludeSelected: true, maxNewTokens: 4 });
    expect(result.insertions.map((i) => [i.step, i.selected])).toEqual([[-1, [0, 1, 2]], [1, [3, 4, 5]]]);
  });

  it('yield to explicit overrides', async () => {
    const { model, prompt } = await withDefaults({ insertAfterPrompt: true, excludeSelected: true, k: 3 });
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1, 2] }), insertAfterPrompt: false, excludeSelected: false, k: 2, maxNewTokens: 4 });
    expect(result.insertions.map((i) => [i.step, i.selected])).toEqual([[1, [0, 1]], [2, [0, 1]]]);
    expect(result.settings.insertAfterPrompt).toBe(false);
  });
});

describe('TokenSampler.probabilityGap', () => {
  it("is top-1 minus top-2 of the model's softmax(logits), whatever the temperature, penalty or suppression", () => {
    const logits = Float32Array.from([1, 3, 2, 0.5]);
    const softmax = (x: number[]) => {
      const e = x.map((v) => Math.exp(v));
      const z = e.reduce((a, b) => a + b);
      return e.map((v) => v / z);
    };
    const p = softmax([1, 3, 2, 0.5]);
    expect(new TokenSampler(4).probabilityGap(logits)).toBeCloseTo(p[1]! - p[2]!, 12);
    // the sampling settings change what is drawn, not the model's own distribution (DaP-ICoT reads raw logits)
    const sampler = new TokenSampler(4, { temperature: 0.5, repetitionPenalty: 1.3 }, [1]);
    sampler.observe([1, 2]);
    expect(sampler.probabilityGap(logits)).toBeCloseTo(p[1]! - p[2]!, 12);
    expect(() => new TokenSampler(8).probabilityGap(logits)).toThrow(/fewer than its vocabulary size/);
  });
});
