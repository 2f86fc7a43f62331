import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, gatherPositions, type InsertionDecoderV2, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { createAdsSelector } from '@icot/selector-ads';
import { describeDecoderConformance, fixturePath, loadOracle, writeTinyLlava, writeTinyQwen2Vl, type TinyModelSettings } from '@icot/testing';
import { decodeImage } from '@icot/image';
import { readFile } from 'node:fs/promises';
import { createSequentialFamily, preparePromptWithFamily } from '@icot/families';
import { loadOnnxModel } from '../src/index.js';

const root = await mkdtemp(join(tmpdir(), 'icot-kv-'));
afterAll(() => rm(root, { recursive: true, force: true }));

async function tiny(name: string, settings: TinyModelSettings, llava = false): Promise<{ model: VisionLanguageModelV2; promptText: string }> {
  const info = await (llava ? writeTinyLlava : writeTinyQwen2Vl)(join(root, name), settings);
  return { model: await loadOnnxModel(info.dir), promptText: info.promptText };
}

/** Logits after inserting `patches` with `decoder` right after the prompt, and after one more token. */
async function insertWith(model: VisionLanguageModelV2, promptText: string, decoder: InsertionDecoderV2, patches: number[]) {
  const image = await model.encodeImage(createTestImage(150, 120));
  const prompt = await model.preparePrompt({ text: promptText, images: [image] });
  const session = model.createSession();
  const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
  const map = prompt.images[0]!.cacheIndices;
  const result = await decoder.insert({
    model,
    session,
    image,
    cacheIndices: map,
    imagePositions: gatherPositions(prompt.positions, map),
    patches,
    position: prompt.nextPosition,
    logits: first.logits,
  });
  const next = await session.step({ segments: [{ type: 'tokens', ids: [7] }], positions: model.family.textPositions(result.nextPosition, 1) });
  session.dispose();
  return { result: Float32Array.from(result.logits), next: Float32Array.from(next.logits), length: session.length };
}

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const patches = [1, 4, 5, 9, 14];

describe('KV-cache insertion against input insertion', () => {
  for (const [name, settings, llava] of [
    ['Qwen2-VL-style (M-RoPE), plain attention', { layers: 1, attention: 'softmax', seed: 41 }, false],
    ['Qwen2-VL-style (M-RoPE), GroupQueryAttention', { layers: 1, attention: 'group-query-attention', seed: 42 }, false],
    ['LLaVA-style (1-D RoPE)', { layers: 1, seed: 43 }, true],
  ] as const)
    it(`on a 1-layer ${name} model, kv-rebind gives the logits of input insertion (1e-5)`, async () => {
      const { model, promptText } = await tiny(`one-${name.replace(/\W+/g, '-')}`, settings, llava);
      const input = await insertWith(model, promptText, createInputInsertionDecoder(), patches);
      const rebind = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'rebind' }), patches);
      const copy = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'copy' }), patches);
      expect(rebind.length).toBe(input.length);
      // LLaVA blocks have no framing tokens: input insertion predicts from the last inserted patch,
      // KV insertion (nothing fed) from the signal token; what follows must agree in both cases.
      if (!llava) expect(maxDiff(rebind.result, input.result)).toBeLessThan(1e-5);
      expect(maxDiff(rebind.next, input.next)).toBeLessThan(1e-5);
      // the copies keep their old positions, which the block moves: kv-copy differs
      expect(maxDiff(copy.next, rebind.next)).toBeGreaterThan(1e-4);
      await model.dispose();
    });

  it('through a patch map that is not one run (a separator token after every row), kv-rebind still gives the logits of input insertion', async () => {
    const { model, promptText } = await tiny('rows', { layers: 1, seed: 45 }, true);
    // LLaVA-NeXT style: the family writes a token after each row of patches, so patch p is no longer at start + p
    const separator = model.tokenizer.encode('\n')[0]!;
    const family = createSequentialFamily({
      name: 'llava-rows',
      imageTokenId: model.tokenizer.tokenToId(model.family.imagePlaceholder)!,
      imagePlaceholder: model.family.imagePlaceholder,
      rowSuffix: [separator],
      defaults: model.family.defaults,
    });
    const rows: VisionLanguageModelV2 = Object.assign(Object.create(model) as VisionLanguageModelV2, {
      family,
      preparePrompt: async (input: Parameters<VisionLanguageModelV2['preparePrompt']>[0]) => preparePromptWithFamily(family, model.tokenizer, () => '', input),
    });
    const image = await rows.encodeImage(createTestImage(150, 120));
    const prompt = await rows.preparePrompt({ text: promptText, images: [image] });
    const map = prompt.images[0]!.cacheIndices;
    expect(map[image.grid.cols]! - map[image.grid.cols - 1]!).toBe(2);
    const input = await insertWith(rows, promptText, createInputInsertionDecoder(), patches);
    const rebind = await insertWith(rows, promptText, createKvInsertionDecoder({ mode: 'rebind' }), patches);
    expect(rebind.length).toBe(input.length);
    expect(maxDiff(rebind.next, input.next)).toBeLessThan(1e-5);
    await model.dispose();
  });

  it('on deeper models kv-rebind differs from input insertion, kv-copy from kv-rebind, and both are deterministic', async () => {
    const { model, promptText } = await tiny('deep', { layers: 3, seed: 44 });
    const input = await insertWith(model, promptText, createInputInsertionDecoder(), patches);
    const rebind = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'rebind' }), patches);
    const rebindAgain = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'rebind' }), patches);
    const copy = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'copy' }), patches);
    const copyAgain = await insertWith(model, promptText, createKvInsertionDecoder({ mode: 'copy' }), patches);
    expect(maxDiff(rebind.result, input.result)).toBeGreaterThan(1e-4);
    expect(maxDiff(copy.result, rebind.result)).toBeGreaterThan(1e-4);
    expect(Array.from(rebindAgain.result)).toEqual(Array.from(rebind.result));
    expect(Array.from(copyAgain.next)).toEqual(Array.from(copy.next));
    await model.dispose();
  });

  it('runs the whole ICoT loop with each decoder on the fixture, deterministically', async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const model = await loadOnnxModel(fixturePath('tiny-qwen2-vl'));
    const image = await model.encodeImage(decodeImage(new Uint8Array(await readFile(fixturePath('tiny-qwen2-vl', 'image.png')))));
    const run = (decoder: InsertionDecoderV2) =>
      generateICoT({
        model,
        prompt: { text: oracle.prompt_text, images: [image] },
        selector: createAdsSelector(),
        decoder,
        trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
        k: oracle.k,
        maxNewTokens: oracle.max_new_tokens,
      });
    const input = await run(createInputInsertionDecoder());
    expect(input.tokens).toEqual(oracle.tokens);
    for (const mode of ['copy', 'rebind'] as const) {
      const a = await run(createKvInsertionDecoder({ mode }));
      const b = await run(createKvInsertionDecoder({ mode }));
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.length).toBe(3);
      // the first insertion sees the same attention, so it selects the same patches
      expect(a.insertions[0]!.selected).toEqual(oracle.events[0]!.selected);
    }
    await model.dispose();
  });
});

for (const mode of ['copy', 'rebind'] as const)
  describeDecoderConformance(`kv-${mode} on onnx / tiny Qwen2-VL fixture`, () => createKvInsertionDecoder({ mode }), async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    return {
      model: await loadOnnxModel(fixturePath('tiny-qwen2-vl')),
      image: decodeImage(new Uint8Array(await readFile(fixturePath('tiny-qwen2-vl', 'image.png')))),
      promptText: oracle.prompt_text,
    };
  }, { kvCache: true, inputInsertion: 'different' }); // a two-layer model: kv-rebind equals input insertion only on one layer
