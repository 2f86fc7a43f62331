import { describe, expect, it } from 'vitest';
import {
  createRandom,
  createSignalTrigger,
  gatherPositions,
  generateICoT,
  type DecodingSessionV2,
  type SelectionRequest,
  type SideRunContext,
  type VisionLanguageModelV2,
} from '@icot/core';
import { createTestImage, MockDecoder, MockSelector } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInfoGainSelector, nextTokenEntropy, probeInformationGain, type InfoGainSelectorOptions } from '../src/index.js';
import { createFocusModel, type Fact } from './focus-model.js';

// 4 x 4 patches cut into 2 x 2 regions: R0 top left, R1 top right, R2 bottom left, R3 bottom right
const R0 = [0, 1, 4, 5];
const R1 = [2, 3, 6, 7];
const R2 = [8, 9, 12, 13];
const R3 = [10, 11, 14, 15];
/** Attention that ranks the regions R0 > R1 > R2 > R3 (R3 gets the least). */
const SCORES = Float32Array.from([9, 9, 5, 5, 9, 9, 5, 5, 3, 3, 1, 1, 3, 3, 1, 1].map((x) => x / 80));

/** A selection request on `model` after a prompt and one text token (the signal), with side runs from that state. */
async function requestOn(model: VisionLanguageModelV2, over: Partial<SelectionRequest> = {}) {
  const image = await model.encodeImage(createTestImage(40, 40));
  const prompt = await model.preparePrompt({ text: 'where is it? <image> think.', images: [image] });
  const session = model.createSession();
  await session.step({ segments: prompt.segments, positions: prompt.positions });
  const signal = await session.step({ segments: [{ type: 'tokens', ids: [31] }], positions: model.family.textPositions(prompt.nextPosition, 1) });
  const cacheIndices = prompt.images[0]!.cacheIndices;
  const forks: DecodingSessionV2[] = [];
  const sideRuns: SideRunContext = {
    model,
    position: prompt.nextPosition + 1,
    logits: signal.logits,
    imagePositions: gatherPositions(prompt.positions, cacheIndices),
    fork: () => {
      const fork = session.fork!();
      forks.push(fork);
      return fork;
    },
    sideRuns: (inputs) => session.sideRuns!(inputs),
  };
  const request: SelectionRequest = { scores: SCORES, image, cacheIndices, k: 4, exclude: new Set(), step: 5, stepText: 'think.', sideRuns, random: createRandom(3), ...over };
  return { request, session, signal };
}

const ALL_REGIONS: InfoGainSelectorOptions = { regionSize: 2, attentionCandidates: 1, randomCandidates: 3 };

describe('info-gain on a model built so one region lowers the entropy most', () => {
  const facts: Fact[] = [{ patches: R3, topic: 'answer', strength: 2 }];

  it('picks that region although attention ranks it last', async () => {
    const { request } = await requestOn(createFocusModel(facts));
    const selection = await createInfoGainSelector(ALL_REGIONS).select(request);
    expect(selection.indices).toEqual(R3);
    expect(selection.regions).toEqual([R3]);
    expect(selection.variant).toBe('signal attention, batched side runs');
    // ADS on the same attention picks the most attended region instead
    expect(createAdsSelector().select(request).indices).toEqual(R0);
  });

  it('measures each candidate: the attention candidate first, the uniform draws after, the gain of the region with the evidence largest', async () => {
    const { request, signal } = await requestOn(createFocusModel(facts));
    const probe = await probeInformationGain(request, ALL_REGIONS);
    expect(probe.rounds).toHaveLength(1);
    const [round] = probe.rounds;
    expect(round!.entropyBefore).toBeCloseTo(nextTokenEntropy(signal.logits), 12);
    expect(round!.candidates.map((c) => c.source)).toEqual(['attention', 'random', 'random', 'random']);
    expect(round!.candidates[0]!.region).toBe(0);
    expect(new Set(round!.candidates.map((c) => c.region))).toEqual(new Set([0, 1, 2, 3]));
    const target = round!.candidates[round!.chosen]!;
    expect(target.region).toBe(3);
    expect(target.gain).toBeGreaterThan(0.1);
    for (const candidate of round!.candidates) if (candidate !== target) expect(candidate.gain).toBeLessThan(target.gain);
    expect(probe.sideRunCount).toBe(4);
  });

  it('finds it among uniform draws only when they reach it: with N = 1 and M = 0 it cannot', async () => {
    const { request } = await requestOn(createFocusModel(facts));
    expect((await createInfoGainSelector({ regionSize: 2, attentionCandidates: 1, randomCandidates: 0 }).select(request)).indices).toEqual(R0);
  });

  it('finds it on a larger grid with the default N, M and region size (k = 16: 2 x 2 regions, 4 rounds)', async () => {
    const model = createFocusModel([{ patches: [54, 55, 62, 63], topic: 'answer', strength: 2 }], { grid: { rows: 8, cols: 8 } });
    const scores = Float32Array.from({ length: 64 }, (_, p) => 64 - p); // attention falls toward the bottom right
    const { request } = await requestOn(model, { scores, k: 16 });
    const probe = await probeInformationGain(request);
    expect(probe.regionSize).toBe(2);
    expect(probe.rounds).toHaveLength(4);
    expect(probe.regions[0]).toEqual([54, 55, 62, 63]);
    expect(probe.indices).toHaveLength(16);
  });
});

describe('greedy rounds re-measure on top of what is chosen', () => {
  // R0 and R1 carry the same evidence (R0 a little more), R2 other evidence
  const facts: Fact[] = [
    { patches: R0, topic: 'shape', strength: 3 },
    { patches: R1, topic: 'shape', strength: 2.5 },
    { patches: R2, topic: 'colour', strength: 1 },
  ];

  it('takes the complementary region second, not the redundant one a one-shot ranking would take', async () => {
    const { request } = await requestOn(createFocusModel(facts), { k: 8 });
    const probe = await probeInformationGain(request, { ...ALL_REGIONS, attentionCandidates: 4, randomCandidates: 0 });
    expect(probe.regions).toEqual([R0, R2]);
    expect(probe.indices).toEqual([...R0, ...R2].sort((a, b) => a - b));
    const [first, second] = probe.rounds;
    // alone, R1 gains more than R2 ...
    const alone = (region: number) => first!.candidates.find((c) => c.region === region)!.gain;
    expect(alone(1)).toBeGreaterThan(alone(2));
    // ... but after R0 it adds nothing, R2 still does
    const after = (region: number) => second!.candidates.find((c) => c.region === region)!.gain;
    expect(after(1)).toBeCloseTo(0, 12);
    expect(after(2)).toBeGreaterThan(0.01);
    expect(second!.entropyBefore).toBe(first!.candidates[first!.chosen]!.entropy);
  });

  it('stops after K rounds, and never passes k: a region larger than the budget left offers its most attended patches', async () => {
    const { request } = await requestOn(createFocusModel(facts), { k: 6 });
    const one = await probeInformationGain(request, { ...ALL_REGIONS, rounds: 1 });
    expect(one.indices).toEqual(R0);
    const filled = await probeInformationGain(request, ALL_REGIONS);
    expect(filled.indices).toHaveLength(6);
    expect(filled.regions[0]).toEqual(R0);
    // R2's two most attended patches are 8 and 9 (3/80 each, over 12 and 13 at 3/80: ties go to the lower index)
    expect(filled.regions[1]).toEqual([8, 9]);
  });

  it('never offers excluded patches', async () => {
    const { request } = await requestOn(createFocusModel(facts), { k: 4, exclude: new Set(R0) });
    const probe = await probeInformationGain(request, ALL_REGIONS);
    for (const round of probe.rounds) for (const c of round.candidates) for (const p of c.patches) expect(R0).not.toContain(p);
    expect(probe.indices).toEqual(R1);
  });
});

describe('batched side runs and sequential forks', () => {
  const facts: Fact[] = [
    { patches: R2, topic: 'a', strength: 1.5 },
    { patches: [R3[0]!, R1[3]!], topic: 'b', strength: 1 },
  ];

  it('measure the same entropies and make the same choice', async () => {
    const model = createFocusModel(facts);
    const { request } = await requestOn(model, { k: 12 });
    const batched = await probeInformationGain({ ...request, random: createRandom(3) }, { ...ALL_REGIONS, batching: 'batched', batchSize: 2 });
    const sequential = await probeInformationGain({ ...request, random: createRandom(3) }, { ...ALL_REGIONS, batching: 'sequential' });
    expect(batched.sideRuns).toBe('batched');
    expect(sequential.sideRuns).toBe('sequential');
    expect(sequential.variant).toBe('signal attention, sequential forks');
    expect(sequential.indices).toEqual(batched.indices);
    expect(sequential.rounds).toEqual(batched.rounds);
    expect(batched.rounds).toHaveLength(3);
  });

  it("'auto' uses forks on a model without batched side runs, and the selector then needs only forks", async () => {
    const model = createFocusModel(facts, { batchedSideRuns: false });
    const { request } = await requestOn(model);
    const selector = createInfoGainSelector(ALL_REGIONS);
    expect(selector.requires).toEqual({ attention: true, fork: true });
    expect((await selector.select(request)).variant).toBe('signal attention, sequential forks');
    expect(createInfoGainSelector({ batching: 'batched' }).requires).toEqual({ attention: true, batchedSideRuns: true });
  });
});

describe('the main run', () => {
  const facts: Fact[] = [{ patches: R3, topic: 'answer', strength: 2 }];
  const run = (model: VisionLanguageModelV2, selector: Parameters<typeof generateICoT>[0]['selector']) =>
    model.encodeImage(createTestImage(40, 40)).then((image) =>
      generateICoT({
        model,
        prompt: { text: 'look <image> and think.', images: [image] },
        selector,
        decoder: new MockDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: 32 }, (_, i) => i) }, every: 4 }),
        k: 4,
        maxNewTokens: 16,
      }),
    );

  it('is unchanged by probing: the same patches chosen directly give the same tokens', async () => {
    const model = createFocusModel(facts);
    const probed = await run(model, createInfoGainSelector(ALL_REGIONS));
    expect(probed.insertions.length).toBeGreaterThanOrEqual(2);
    for (const insertion of probed.insertions) {
      expect(insertion.selector).toBe('info-gain');
      expect(insertion.variant).toBe('signal attention, batched side runs');
      expect(insertion.fallback).toBeUndefined();
    }
    expect(probed.insertions[0]!.selected).toEqual(R3);
    const chosen = probed.insertions.map((i) => i.selected);
    let n = 0;
    const replay = await run(model, new MockSelector({ select: () => ({ indices: chosen[n++]! }) }));
    expect(replay.tokens).toEqual(probed.tokens);
  });

  it('falls back to attention, and says so, where the context has no room to probe', async () => {
    const model = createFocusModel(facts, { maxContextTokens: 40 });
    const { request } = await requestOn(model);
    const selection = await createInfoGainSelector(ALL_REGIONS).select(request);
    expect(selection.indices).toEqual(R0);
    expect(selection.fallback).toEqual({ selector: 'ads', reason: "the model's context (40 tokens) has no room to probe an insertion of 4 patches" });
  });
});
