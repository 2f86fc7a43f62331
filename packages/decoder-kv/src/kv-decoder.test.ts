import { describe, expect, it } from 'vitest';
import { CapabilityError, contiguousCacheIndices, createRandom, gatherPositions, OptionError, type RopeDescriptionV1 } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { describeDecoderConformance } from '@icot/testing';
import { createKvInsertionDecoder } from './kv-decoder.js';
import { rebindKeys } from './rope.js';

for (const mode of ['copy', 'rebind'] as const)
  for (const delimiters of [true, false])
    describeDecoderConformance(`kv-${mode}${delimiters ? '' : ' without delimiters'} on the toy model`, () => createKvInsertionDecoder({ mode, delimiters }), async () => ({
      model: createToyModel(),
      image: createTestImage(),
      promptText: 'look at <image> please',
    }), { kvCache: true, inputInsertion: 'different' });
describeDecoderConformance('kv-rebind on a toy model with tiled images (patches apart in the cache)', () => createKvInsertionDecoder({ mode: 'rebind' }), async () => ({
  model: createToyModel({ grid: { rows: 2, cols: 3 }, tiles: { rows: 1, cols: 2 } }),
  image: createTestImage(),
  promptText: 'look at <image> please',
}), { kvCache: true, inputInsertion: 'different' });

/** RoPE of one head vector at a position (rotate_half layout), computed directly. */
function rope(x: Float32Array, position: readonly number[], r: RopeDescriptionV1): Float32Array {
  const half = r.rotaryDim / 2;
  const out = Float32Array.from(x);
  const axisOf = (j: number): number => {
    if (!r.mropeSection) return 0;
    let acc = 0;
    for (let a = 0; a < r.mropeSection.length; a++) {
      acc += r.mropeSection[a]!;
      if (j < acc) return a;
    }
    return r.mropeSection.length - 1;
  };
  for (let j = 0; j < half; j++) {
    const angle = Math.fround(position[axisOf(j)]! * Math.fround(1 / r.theta ** ((2 * j) / r.rotaryDim)));
    out[j] = x[j]! * Math.cos(angle) - x[j + half]! * Math.sin(angle);
    out[j + half] = x[j + half]! * Math.cos(angle) + x[j]! * Math.sin(angle);
  }
  return out;
}

describe('rebindKeys', () => {
  const cases: [string, RopeDescriptionV1, number][] = [
    ['1-D RoPE', { theta: 10000, headDim: 16, rotaryDim: 16, layout: 'half' }, 1],
    ['partial rotary', { theta: 500000, headDim: 16, rotaryDim: 8, layout: 'half' }, 1],
    ['M-RoPE [2,3,3]', { theta: 10000, headDim: 16, rotaryDim: 16, mropeSection: [2, 3, 3], layout: 'half' }, 3],
  ];
  for (const [name, r, axes] of cases)
    it(`turns R(old) k into R(new) k: ${name}`, () => {
      const random = createRandom(3);
      const heads = 2;
      const count = 3;
      const raw = Array.from({ length: heads * count }, () => Float32Array.from({ length: r.headDim }, () => random.next() * 2 - 1));
      const from = Array.from({ length: count }, (_, i) => Array.from({ length: axes }, (_, a) => 40 + i + 2 * a));
      const to = Array.from({ length: count }, (_, i) => Array.from({ length: axes }, (_, a) => 180 + 3 * i + a));
      const keys = new Float32Array(heads * count * r.headDim);
      raw.forEach((k, n) => keys.set(rope(k, from[n % count]!, r), n * r.headDim));
      const pack = (p: number[][]) => ({ axes, length: count, data: Int32Array.from({ length: axes * count }, (_, i) => p[i % count]![Math.floor(i / count)]!) });
      rebindKeys(keys, heads, count, r, pack(from), pack(to));
      raw.forEach((k, n) => {
        const expected = rope(k, to[n % count]!, r);
        expected.forEach((v, d) => expect(Math.abs(keys[n * r.headDim + d]! - v)).toBeLessThan(1e-5));
      });
      // dimensions past the rotary part are left alone
      if (r.rotaryDim < r.headDim) expect(keys[r.headDim - 1]).toBe(raw[0]![r.headDim - 1]);
    });
});

describe('KvInsertionDecoder', () => {
  it('copies the selected patches from the prompt image into the cache', async () => {
    const model = createToyModel();
    const image = await model.encodeImage(createTestImage());
    const prompt = await model.preparePrompt({ text: 'see <image> now', images: [image] });
    const session = model.createSession();
    const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
    const before = session.length;
    const result = await createKvInsertionDecoder({ mode: 'copy', delimiters: false }).insert({
      model,
      session,
      image,
      cacheIndices: prompt.images[0]!.cacheIndices,
      imagePositions: gatherPositions(prompt.positions, prompt.images[0]!.cacheIndices),
      patches: [3, 7],
      position: prompt.nextPosition,
      logits: first.logits,
    });
    expect(session.length - before).toBe(2);
    expect(result.insertedTokens).toBe(2);
    expect(result.logits).toBe(first.logits); // nothing fed: the pre-insertion logits carry on
    expect(model.steps).toHaveLength(1);
  });

  it('refuses unknown modes and backends without cache access', async () => {
    expect(() => createKvInsertionDecoder({ mode: 'magic' as never })).toThrow(OptionError);
    const model = createToyModel();
    const image = await model.encodeImage(createTestImage());
    const session = { ...model.createSession(), kvCache: undefined, length: 0 };
    await expect(
      createKvInsertionDecoder({ mode: 'copy' }).insert({ model, session, image, cacheIndices: contiguousCacheIndices(0, 16), imagePositions: { axes: 1, length: 16, data: new Int32Array(16) }, patches: [0], position: 0, logits: new Float32Array(1) }),
    ).rejects.toThrow(CapabilityError);
  });

  it('copies from where the patch map says each patch sits (a tiled image: tiles apart in the cache)', async () => {
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 1, cols: 2 } });
    const image = await model.encodeImage(createTestImage());
    const prompt = await model.preparePrompt({ text: 'see <image> now', images: [image] });
    const map = prompt.images[0]!.cacheIndices;
    expect(map[4]! - map[3]!).toBe(2); // the <tile> token between tile 0 and tile 1
    const session = model.createSession();
    const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
    const copied: number[][] = [];
    const spy = { ...session, length: session.length, kvCache: { ...session.kvCache!, appendCopies: (sources: readonly number[]) => copied.push([...sources]) } };
    await createKvInsertionDecoder({ mode: 'copy', delimiters: false }).insert({
      model,
      session: spy,
      image,
      cacheIndices: map,
      imagePositions: gatherPositions(prompt.positions, map),
      patches: [3, 4, 9],
      position: prompt.nextPosition,
      logits: first.logits,
    });
    expect(copied).toEqual([[map[3]!, map[4]!, map[9]!]]);
  });
});
