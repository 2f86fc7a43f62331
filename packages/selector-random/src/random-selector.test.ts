import { describe, expect, it } from 'vitest';
import { createRandom } from '@icot/core';
import { describeSelectorConformance } from '@icot/testing';
import { createRandomSelector } from './random-selector.js';

describeSelectorConformance('random', () => createRandomSelector(), { requires: { attention: false } });

describe('RandomSelector', () => {
  const image = { grid: { rows: 4, cols: 4 }, patchCount: 16, size: { width: 4, height: 4 }, patchBox: () => ({ x: 0, y: 0, width: 1, height: 1 }) };
  const request = (seed: number) => ({ image, cacheIndices: Int32Array.from({ length: 16 }, (_, i) => i), k: 4, exclude: new Set<number>(), step: 0, stepText: '', random: createRandom(seed) });

  it('differs across seeds and covers every patch evenly', () => {
    const selector = createRandomSelector();
    expect(selector.select(request(1)).indices).not.toEqual(selector.select(request(2)).indices);
    const counts = new Array(16).fill(0);
    const random = createRandom(9);
    for (let i = 0; i < 4000; i++) for (const p of selector.select({ ...request(0), random }).indices) counts[p] += 1;
    for (const c of counts) expect(c).toBeGreaterThan(850); // 1000 expected each
  });
});
