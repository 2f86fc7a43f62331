import { describe, expect, it } from 'vitest';
import { createRandom, SelectionError } from '@icot/core';
import { describeSelectorConformance } from '@icot/testing';
import { createAdsSelector, topKIndices } from './ads.js';

describeSelectorConformance('ADS', () => createAdsSelector(), { requires: { attention: true } });

describe('topKIndices', () => {
  it('returns the indices of the k largest scores, ascending', () => {
    expect(topKIndices([0.1, 0.5, 0.3, 0.9, 0.2], 2)).toEqual([1, 3]);
    expect(topKIndices([0.1, 0.5, 0.3, 0.9, 0.2], 5)).toEqual([0, 1, 2, 3, 4]);
  });

  it('skips excluded indices and breaks ties toward the lower index', () => {
    expect(topKIndices([0.9, 0.8, 0.7, 0.6], 2, new Set([0]))).toEqual([1, 2]);
    expect(topKIndices([0.5, 0.5, 0.5, 0.1], 2)).toEqual([0, 1]);
  });

  it('matches a full sort on random inputs', () => {
    const r = createRandom(4);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + r.int(300);
      const scores = Array.from({ length: n }, () => r.next());
      const k = 1 + r.int(n);
      const expected = scores
        .map((v, i) => [v, i] as const)
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, k)
        .map(([, i]) => i)
        .sort((a, b) => a - b);
      expect(topKIndices(scores, k)).toEqual(expected);
    }
  });
});

describe('AdsSelector', () => {
  const image = { grid: { rows: 2, cols: 2 }, patchCount: 4, size: { width: 2, height: 2 }, patchBox: () => ({ x: 0, y: 0, width: 1, height: 1 }) };
  it('selects by attention', () => {
    const { indices } = createAdsSelector().select({ scores: Float32Array.from([0.1, 0.4, 0.3, 0.2]), image, cacheIndices: Int32Array.from([5, 6, 7, 8]), k: 2, exclude: new Set(), step: 0, stepText: '', random: createRandom(0) });
    expect(indices).toEqual([1, 2]);
  });
  it('rejects k larger than the image and mismatched scores', () => {
    const base = { image, cacheIndices: Int32Array.from([5, 6, 7, 8]), exclude: new Set<number>(), step: 0, stepText: '', random: createRandom(0) };
    expect(() => createAdsSelector().select({ ...base, scores: new Float32Array(4), k: 5 })).toThrow(SelectionError);
    expect(() => createAdsSelector().select({ ...base, scores: new Float32Array(3), k: 1 })).toThrow(SelectionError);
  });
});
