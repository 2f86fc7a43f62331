import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { createSignalTrigger, gatherByCacheIndex, generateICoT, type VisionLanguageModelV2 } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { fixturePath, loadOracle } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';
import type { FeatureImage } from '../src/index.js';

const oracle = loadOracle('tiny-qwen2-vl');

describe('ONNX backend reproduces the reference ICoT run (tiny Qwen2-VL fixture)', () => {
  let model: VisionLanguageModelV2;
  let image: FeatureImage;
  beforeAll(async () => {
    model = await loadOnnxModel(fixturePath('tiny-qwen2-vl'));
    image = (await model.encodeImage(await readImageFile(fixturePath('tiny-qwen2-vl', 'image.png')))) as FeatureImage;
  });
  afterAll(() => model?.dispose());

  const run = (maxInsertions: number) =>
    generateICoT({
      model,
      prompt: { text: oracle.prompt_text, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
      k: oracle.k,
      maxInsertions,
      maxNewTokens: oracle.max_new_tokens,
    });

  it('encodes the image like the reference vision tower', () => {
    expect(image.grid).toEqual({ rows: 8, cols: 8 });
    const first = Array.from(image.features.subarray(0, 8));
    first.forEach((v, i) => expect(v).toBeCloseTo(oracle.image_features_first_row![i]!, 5));
  });

  it('prepares the prompt: same ids, positions and image span', async () => {
    const prompt = await model.preparePrompt({ text: oracle.prompt_text, images: [image] });
    expect(prompt.length).toBe(oracle.input_ids.length);
    expect(Array.from(prompt.images[0]!.cacheIndices)).toEqual(Array.from({ length: image.patchCount }, (_, i) => oracle.query_image_span[0] + i));
    const rows = [0, 1, 2].map((a) => Array.from(prompt.positions.data.subarray(a * prompt.length, (a + 1) * prompt.length)));
    expect(rows).toEqual(oracle.position_ids);
  });

  it("gives the prompt's last-position logits the reference computed (top 5 to 1e-4), from a decoder that computes that row only", async () => {
    const decoder = (model as unknown as { decoder: { logits: unknown } }).decoder;
    expect(decoder.logits).toMatchObject({ rows: 'last', how: 'sliced-before-projection' });
    const prompt = await model.preparePrompt({ text: oracle.prompt_text, images: [image] });
    const session = model.createSession();
    const { logits } = await session.step({ segments: prompt.segments, positions: prompt.positions });
    session.dispose();
    const top5 = (oracle as unknown as { prompt_last_logits_top5: [number, number][] }).prompt_last_logits_top5;
    top5.forEach(([id, value]) => expect(Math.abs(logits[id]! - value)).toBeLessThan(1e-4));
    // and they are the five largest, in order
    const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
    expect(order).toEqual(top5.map(([id]) => id));
  });

  it('reproduces the ICoT tokens and every selected patch list exactly', async () => {
    const result = await run(oracle.max_insertions);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.step)).toEqual(oracle.events.map((e) => e.step));
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    expect(result.insertions.map((i) => i.position)).toEqual(oracle.events.map((e) => e.block_positions![0]![0]));
  });

  it('reports the signal token attention the reference computed (mean over layers and heads) to 1e-5', async () => {
    const result = await run(oracle.max_insertions);
    result.insertions.forEach((ins, n) => {
      const reference = oracle.events[n]!.scores;
      ins.selected.forEach((patch, j) => expect(Math.abs(ins.scores[j]! - reference[patch]!)).toBeLessThan(1e-5));
    });
  });

  it('reproduces plain greedy decoding with insertions off', async () => {
    const result = await run(0);
    expect(result.tokens).toEqual(oracle.plain_greedy_tokens);
    expect(result.insertions).toEqual([]);
  });

  it('gives the full attention row over the query image the reference gave, to 1e-5', async () => {
    const prompt = await model.preparePrompt({ text: oracle.prompt_text, images: [image] });
    const session = model.createSession();
    let out = await session.step({ segments: prompt.segments, positions: prompt.positions });
    let position = prompt.nextPosition;
    const event = oracle.events[0]!;
    for (let step = 0; step <= event.step; step++) {
      out = await session.step({ segments: [{ type: 'tokens', ids: [oracle.tokens[step]!] }], positions: model.family.textPositions(position++, 1), attention: step === event.step });
    }
    const row = gatherByCacheIndex(out.attention!, prompt.images[0]!.cacheIndices);
    event.scores.forEach((s, i) => expect(Math.abs(row[i]! - s)).toBeLessThan(1e-5));
    session.dispose();
  });
});
