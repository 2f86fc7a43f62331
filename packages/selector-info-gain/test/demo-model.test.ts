import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom, createSignalTrigger, generateICoT, type EncodedImage, type ICoTResult, type InsertionDecoderV2, type PatchSelectorV2, type VisionLanguageModelV2 } from '@icot/core';
import { MockSelector } from '@icot/core/test';
import { loadOnnxModel } from '@icot/backend-onnx';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image/node';
import { createAdsSelector } from '@icot/selector-ads';
import { createInfoGainSelector, nextTokenEntropy, probeInformationGain, type InfoGainProbe } from '../src/index.js';

// End to end on the embedded demo model (a tiny random-weight Qwen2-VL on onnxruntime-node), as
// `icot run` drives it: input insertion, the demo's signal token every 2nd time, greedy decoding.
let model: VisionLanguageModelV2;
let image: EncodedImage;
beforeAll(async () => {
  model = await loadOnnxModel(demoModel.dir);
  image = await model.encodeImage(await readImageFile(demoModel.image));
});
afterAll(async () => {
  await model?.dispose();
});

const run = (selector: PatchSelectorV2, decoder: InsertionDecoderV2 = createInputInsertionDecoder()): Promise<ICoTResult> =>
  generateICoT({
    model,
    prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
    selector,
    decoder,
    trigger: createSignalTrigger({ signal: { tokenIds: demoModel.signalTokenIds }, every: 2 }),
    maxNewTokens: 40,
  });

describe('info-gain on the demo model (ONNX backend)', () => {
  it('the ONNX backend has both side-run capabilities', () => {
    expect(model.capabilities).toMatchObject({ attention: true, fork: true, batchedSideRuns: true });
  });

  it('chooses the insertions itself (no fallback), deterministically across two runs', async () => {
    const first = await run(createInfoGainSelector());
    const second = await run(createInfoGainSelector());
    expect(first.insertions.length).toBeGreaterThanOrEqual(1);
    for (const insertion of first.insertions) {
      expect(insertion.selector).toBe('info-gain');
      expect(insertion.fallback).toBeUndefined();
      expect(insertion.variant).toBe('signal attention, batched side runs');
      expect(insertion.selected).toHaveLength(16); // the family's k: four 2 x 2 regions
      expect(insertion.regions).toHaveLength(4);
      expect(insertion.regions!.flat().sort((a, b) => a - b)).toEqual(insertion.selected);
    }
    expect(second.tokens).toEqual(first.tokens);
    expect(second.insertions.map((i) => i.selected)).toEqual(first.insertions.map((i) => i.selected));
  });

  it('leaves the main cache untouched: the same patches chosen directly give the same tokens', async () => {
    const probed = await run(createInfoGainSelector());
    const chosen = probed.insertions.map((i) => i.selected);
    let n = 0;
    const replay = await run(new MockSelector({ select: () => ({ indices: chosen[n++]! }) }));
    expect(replay.insertions.map((i) => i.selected)).toEqual(chosen);
    expect(replay.tokens).toEqual(probed.tokens);
  });

  it('the insertion feeds exactly the winning side run: the main logits after it have the last round\'s winning entropy', async () => {
    const probes: InfoGainProbe[] = [];
    const after: Float32Array[] = [];
    const selector: PatchSelectorV2 = {
      specificationVersion: 'v2',
      name: 'info-gain',
      requires: { attention: true, fork: true },
      async select(request) {
        const probe = await probeInformationGain(request, { batching: 'sequential' });
        probes.push(probe);
        return { indices: probe.indices };
      },
    };
    const input = createInputInsertionDecoder();
    const decoder: InsertionDecoderV2 = {
      specificationVersion: 'v2',
      name: input.name,
      layout: input.layout,
      requires: input.requires,
      async insert(request) {
        const result = await input.insert(request);
        after.push(result.logits);
        return result;
      },
    };
    const result = await run(selector, decoder);
    expect(result.insertions.length).toBeGreaterThanOrEqual(1);
    expect(after).toHaveLength(probes.length);
    probes.forEach((probe, i) => {
      const last = probe.rounds.at(-1)!;
      expect(nextTokenEntropy(after[i]!)).toBe(last.candidates[last.chosen]!.entropy);
    });
  });

  it('batched side runs and sequential forks measure the same entropies and choose the same patches', async () => {
    // at every insertion, both ways probe the same request (same seed for the uniform draws)
    const pairs: [InfoGainProbe, InfoGainProbe][] = [];
    const both: PatchSelectorV2 = {
      specificationVersion: 'v2',
      name: 'info-gain',
      requires: { attention: true, fork: true, batchedSideRuns: true },
      async select(request) {
        const batched = await probeInformationGain({ ...request, random: createRandom(11) }, { batching: 'batched' });
        const sequential = await probeInformationGain({ ...request, random: createRandom(11) }, { batching: 'sequential' });
        pairs.push([batched, sequential]);
        return { indices: batched.indices };
      },
    };
    await run(both);
    expect(pairs.length).toBeGreaterThanOrEqual(1);
    let worst = 0;
    for (const [batched, sequential] of pairs) {
      expect([batched.sideRuns, sequential.sideRuns]).toEqual(['batched', 'sequential']);
      expect(sequential.indices).toEqual(batched.indices);
      expect(sequential.rounds.map((r) => r.candidates.map((c) => c.region))).toEqual(batched.rounds.map((r) => r.candidates.map((c) => c.region)));
      batched.rounds.forEach((round, r) =>
        round.candidates.forEach((candidate, c) => (worst = Math.max(worst, Math.abs(candidate.entropy - sequential.rounds[r]!.candidates[c]!.entropy)))),
      );
    }
    expect(worst).toBeLessThan(1e-4);
    // and end to end: the same insertions and tokens either way
    const batched = await run(createInfoGainSelector({ batching: 'batched' }));
    const sequential = await run(createInfoGainSelector({ batching: 'sequential' }));
    expect(sequential.insertions[0]!.variant).toBe('signal attention, sequential forks');
    expect(sequential.insertions.map((i) => i.selected)).toEqual(batched.insertions.map((i) => i.selected));
    expect(sequential.tokens).toEqual(batched.tokens);
  });

  it('reads context-enhanced attention on a fork and says so in the variant (info-gain and ADS)', async () => {
    const infoGain = await run(createInfoGainSelector({ attention: 'context-enhanced', descriptionTokens: 8 }));
    expect(infoGain.insertions.length).toBeGreaterThanOrEqual(1);
    for (const insertion of infoGain.insertions) {
      expect(insertion.variant).toBe('context-enhanced attention, batched side runs');
      expect(insertion.fallback).toBeUndefined();
    }
    const ads = await run(createAdsSelector({ attention: 'context-enhanced', descriptionTokens: 8 }));
    expect(ads.insertions.length).toBeGreaterThanOrEqual(1);
    for (const insertion of ads.insertions) expect(insertion.variant).toBe('context-enhanced attention');
    const plain = await run(createAdsSelector());
    expect(plain.insertions[0]!.variant).toBeUndefined();
  });
});
