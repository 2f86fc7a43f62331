import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, PromptError, type VisionLanguageModelV2 } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { type TokenImage } from '@icot/families';
import { decodeImage } from '@icot/image';
import { describeDecoderConformance, describeModelConformance, fixturePath, loadOracle } from '@icot/testing';
import { loadOnnxModel } from '../src/index.js';

const oracle = loadOracle('tiny-chameleon');
const rgb = decodeImage(new Uint8Array(await readFile(fixturePath('tiny-chameleon', 'image.png'))));
const BOI = 424;
const EOI = 425;

describe('ONNX backend on a Chameleon-class model reproduces the reference ICoT run (tiny Chameleon fixture)', () => {
  let model: VisionLanguageModelV2;
  let image: TokenImage;
  beforeAll(async () => {
    model = await loadOnnxModel(fixturePath('tiny-chameleon'));
    image = (await model.encodeImage(rgb)) as TokenImage;
  });
  afterAll(() => model?.dispose());

  // the after-prompt insertion is the family's default, applied by the loop: only switching it off is an option
  const run = (maxInsertions: number, afterPrompt = true) =>
    generateICoT({
      model,
      prompt: { text: oracle.prompt_text, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
      ...(afterPrompt ? {} : { insertAfterPrompt: false }),
      k: oracle.k,
      maxInsertions,
      maxNewTokens: oracle.max_new_tokens,
    });

  it('the family defaults are the official Chameleon behaviours', () => {
    expect(model.family.name).toBe('chameleon');
    expect(model.family.defaults).toEqual({ k: 64, insertAfterPrompt: true, excludeSelected: true });
  });

  it('image_tokenizer.onnx gives the reference image tokens', () => {
    expect(image.grid).toEqual({ rows: 16, cols: 16 });
    expect(Array.from(image.tokenIds)).toEqual(oracle.image_tokens);
  });

  it('lays the prompt out as [<s>] + text + [<boi>] + image tokens + [<eoi>] + text with 1-D positions', async () => {
    const prompt = await model.preparePrompt({ text: oracle.prompt_text, images: [image] });
    const ids = prompt.segments.flatMap((s) => (s.type === 'tokens' ? [...s.ids] : Array.from(image.tokenIds)));
    expect(ids).toEqual(oracle['input_ids_with_image_tokens']);
    expect(Array.from(prompt.images[0]!.cacheIndices)).toEqual(Array.from({ length: 256 }, (_, i) => oracle.query_image_span[0] + i));
    expect(Array.from(prompt.positions.data)).toEqual(ids.map((_, i) => i));
  });

  it('reproduces the tokens and every selected patch list, with the after-prompt insertion at step -1', async () => {
    const result = await run(oracle.max_insertions);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.step)).toEqual(oracle.events.map((e) => e.step));
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    result.insertions.forEach((ins, n) => ins.selected.forEach((p, j) => expect(Math.abs(ins.scores[j]! - oracle.events[n]!.scores[p]!)).toBeLessThan(1e-5)));
    // exclusion: no patch is chosen twice
    const all = result.insertions.flatMap((i) => i.selected);
    expect(new Set(all).size).toBe(all.length);
  });

  it('never samples image tokens as text', async () => {
    const result = await run(oracle.max_insertions);
    const imageTokens = new Set(model.family.suppressedTokenIds);
    expect(imageTokens.size).toBe(64);
    for (const t of result.tokens) expect(imageTokens.has(t)).toBe(false);
  });

  it('reproduces plain greedy decoding with insertions off', async () => {
    expect((await run(0)).tokens).toEqual(oracle.plain_greedy_tokens);
  });

  describe('region syntax for one-shot demonstrations', () => {
    it('expands <region image=N rows=A-B cols=C-D> to the sub-grid tokens, framed like an image', async () => {
      const demo = image;
      const text = `Example: <region image=2 rows=0-3 cols=4-7> is the red square.\n${oracle.prompt_text}`;
      const prompt = await model.preparePrompt({ text, images: [image, demo] });
      const index = prompt.segments.findIndex((s) => s.type === 'image' && s.image.patchCount === 16);
      const region = prompt.segments[index];
      if (region?.type !== 'image') throw new Error('no region segment');
      const regionImage = region.image as TokenImage;
      const expected: number[] = [];
      for (let r = 0; r <= 3; r++) for (let c = 4; c <= 7; c++) expected.push(demo.tokenIds[r * 16 + c]!);
      expect(Array.from(regionImage.tokenIds)).toEqual(expected);
      const before = prompt.segments[index - 1];
      const after = prompt.segments[index + 1];
      if (before?.type !== 'tokens' || after?.type !== 'tokens') throw new Error('the region is not framed by tokens');
      expect(before.ids.at(-1)).toBe(BOI);
      expect(after.ids[0]).toBe(EOI);
      // the region is not the query image: ICoT selects from the whole image
      expect(prompt.images.map((i) => i.region ?? false)).toEqual([true, false]);
      const box = regionImage.patchBox(0);
      expect(box).toEqual({ x: 32, y: 0, width: 8, height: 8 });
      const result = await generateICoT({
        model,
        prompt,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: 2 }),
        k: 16,
        maxInsertions: 2,
        maxNewTokens: 12,
      });
      expect(result.insertions[0]!.selected.every((p) => p < 256)).toBe(true);
    });

    it('rejects regions outside the grid, missing images and unused images', async () => {
      await expect(model.preparePrompt({ text: '<region image=1 rows=0-16 cols=0-1> <image>', images: [image] })).rejects.toThrow(PromptError);
      await expect(model.preparePrompt({ text: '<region image=3 rows=0-1 cols=0-1> <image>', images: [image] })).rejects.toThrow(/refers to image 3/);
      await expect(model.preparePrompt({ text: oracle.prompt_text, images: [image, image] })).rejects.toThrow(/Image 2 is not used/);
    });
  });
});

describeModelConformance(
  'onnx / tiny Chameleon (discrete image tokens)',
  async () => ({ model: await loadOnnxModel(fixturePath('tiny-chameleon')), image: rgb, promptText: oracle.prompt_text, selector: createAdsSelector(), decoder: createInputInsertionDecoder() }),
  { attention: true, kvCache: true, crop: true, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false },
);

for (const [name, create] of [
  ['input', () => createInputInsertionDecoder()],
  ['kv-copy', () => createKvInsertionDecoder({ mode: 'copy' })],
  ['kv-rebind', () => createKvInsertionDecoder({ mode: 'rebind' })],
] as const)
  describeDecoderConformance(`${name} on onnx / tiny Chameleon`, create, async () => ({ model: await loadOnnxModel(fixturePath('tiny-chameleon')), image: rgb, promptText: oracle.prompt_text }), {
    kvCache: name !== 'input',
    // two layers: the re-bound copies carry other context than re-encoded patches would
    inputInsertion: name === 'input' ? 'equal' : 'different',
  });
