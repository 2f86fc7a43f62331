import { describe, expect, it } from 'vitest';
import { chooseRegions } from './choose.js';

// 12 patches in 5 regions; region scores (sums): A 0.30, B 0.27, C 0.20, D 0.13, E 0.10
const regions = [
  [0, 1, 2], // A: 0.10 + 0.12 + 0.08 = 0.30
  [3, 4], // B: 0.20 + 0.07 = 0.27
  [5, 6, 7, 8], // C: 0.05 * 4 = 0.20
  [9], // D: 0.13
  [10, 11], // E: 0.04 + 0.06 = 0.10
];
const scores = Float32Array.from([0.1, 0.12, 0.08, 0.2, 0.07, 0.05, 0.05, 0.05, 0.05, 0.13, 0.04, 0.06]);
const none = new Set<number>();
const rules = { maxRegionPatches: 64, fill: true };

describe('chooseRegions', () => {
  it('takes whole regions by attention mass while the total stays <= k', () => {
    // A (3) + B (2) = 5
    expect(chooseRegions(regions, scores, 5, none, rules)).toEqual({ kind: 'regions', indices: [0, 1, 2, 3, 4], regions: [[0, 1, 2], [3, 4]], cut: false });
  });

  it('skips a region that no longer fits and goes on with smaller ones', () => {
    // k = 6: A (3) + B (2) = 5, C (4) does not fit, D (1) does
    expect(chooseRegions(regions, scores, 6, none, rules)).toEqual({ kind: 'regions', indices: [0, 1, 2, 3, 4, 9], regions: [[0, 1, 2], [3, 4], [9]], cut: false });
  });

  it('fills the slots left with the most attended patches of the best region not taken', () => {
    // k = 4: A (3), B (2) does not fit, C (4) neither, D (1) fits -> 4; k = 7: A + B + D = 6, then the best of C... C's patches tie at 0.05: the lowest index
    expect(chooseRegions(regions, scores, 4, none, rules)).toMatchObject({ indices: [0, 1, 2, 9], regions: [[0, 1, 2], [9]] });
    expect(chooseRegions(regions, scores, 7, none, rules)).toMatchObject({ indices: [0, 1, 2, 3, 4, 5, 9], regions: [[0, 1, 2], [3, 4], [9]] });
    // k = 4 with only A and C: A (3) fits, C (4) no longer does -> A + C's most attended patch (ties: the lowest index)
    expect(chooseRegions([regions[0]!, regions[2]!], scores, 4, none, rules)).toEqual({ kind: 'regions', indices: [0, 1, 2, 5], regions: [[0, 1, 2]], cut: false });
    // without fill the insertion keeps whole regions only
    expect(chooseRegions([regions[0]!, regions[2]!], scores, 4, none, { ...rules, fill: false })).toEqual({ kind: 'regions', indices: [0, 1, 2], regions: [[0, 1, 2]], cut: false });
    expect(chooseRegions(regions, scores, 7, none, { ...rules, fill: false })).toMatchObject({ indices: [0, 1, 2, 3, 4, 9] });
  });

  it('drops regions over the budget; when the best region left is larger than k, takes its k most attended patches', () => {
    // budget 3: C (4) is dropped; k = 2: A (3 patches, best) is larger than k -> its 2 best: 1 (0.12), 0 (0.10)
    expect(chooseRegions(regions, scores, 2, none, { ...rules, maxRegionPatches: 3 })).toEqual({ kind: 'regions', indices: [0, 1], regions: [], cut: true });
    expect(chooseRegions(regions, scores, 2, none, { maxRegionPatches: 3, fill: false })).toEqual({ kind: 'regions', indices: [0, 1], regions: [], cut: true });
    // budget 2: A and C are dropped; B is best
    expect(chooseRegions(regions, scores, 3, none, { ...rules, maxRegionPatches: 2 })).toMatchObject({ indices: [3, 4, 9], regions: [[3, 4], [9]] });
  });

  it('fills from regions dropped for a budget below k when the ones that fit run out', () => {
    // budget 1: only D fits; k = 4: D, then A's 3 patches (the best region not taken)
    expect(chooseRegions(regions, scores, 4, none, { ...rules, maxRegionPatches: 1 })).toEqual({ kind: 'regions', indices: [0, 1, 2, 9], regions: [[9]], cut: false });
  });

  it('reports that nothing fits when every region is over the budget', () => {
    const choice = chooseRegions([regions[0]!, regions[2]!], scores, 2, none, { ...rules, maxRegionPatches: 2 });
    expect(choice).toEqual({ kind: 'nothing-fits', reason: 'every region is larger than the budget of 2 patches (the smallest has 3)' });
  });

  it('scores regions after exclusion, and never returns excluded patches', () => {
    // without patches 1 and 3: C 0.20, A [0, 2] 0.18, D 0.13, E 0.10, B [4] 0.07; k = 5: C (4),
    // A (2) does not fit, D (1) does
    const exclude = new Set([1, 3]);
    expect(chooseRegions(regions, scores, 5, exclude, rules)).toEqual({ kind: 'regions', indices: [5, 6, 7, 8, 9], regions: [[5, 6, 7, 8], [9]], cut: false });
    // k = 8: C, A, D (7), E (2) does not fit, B (1) does
    expect(chooseRegions(regions, scores, 8, exclude, rules)).toEqual({ kind: 'regions', indices: [0, 2, 4, 5, 6, 7, 8, 9], regions: [[5, 6, 7, 8], [0, 2], [9], [4]], cut: false });
    // everything excluded: an empty choice
    expect(chooseRegions(regions, scores, 4, new Set(Array.from({ length: 12 }, (_, i) => i)), rules)).toEqual({ kind: 'regions', indices: [], regions: [], cut: false });
  });

  it('breaks score ties by the smaller region, then the earlier one, and ignores NaN scores', () => {
    const tied = Float32Array.from([0.2, 0.1, 0.1, 0.2, Number.NaN]);
    // regions [0] (0.2), [1, 2] (0.2), [3, 4] (0.2 + NaN = 0.2): k = 1 -> [0]; k = 3 -> [0] + [1, 2]
    expect(chooseRegions([[1, 2], [0], [3, 4]], tied, 1, none, rules)).toMatchObject({ indices: [0], regions: [[0]] });
    expect(chooseRegions([[1, 2], [0], [3, 4]], tied, 3, none, rules)).toMatchObject({ indices: [0, 1, 2], regions: [[0], [1, 2]] });
  });

  it('adds only new patches of overlapping regions (SAM masks) and reports what it added', () => {
    const overlapping = [
      [0, 1, 2], // 0.30
      [2, 3], // 0.28: patch 3 is new
      [1, 2], // 0.20: nothing new after the first
      [5], // 0.05
    ];
    const s = Float32Array.from([0.1, 0.12, 0.08, 0.2, 0, 0.05]);
    expect(chooseRegions(overlapping, s, 4, none, rules)).toEqual({ kind: 'regions', indices: [0, 1, 2, 3], regions: [[0, 1, 2], [3]], cut: false });
    expect(chooseRegions(overlapping, s, 5, none, rules)).toEqual({ kind: 'regions', indices: [0, 1, 2, 3, 5], regions: [[0, 1, 2], [3], [5]], cut: false });
  });
});
