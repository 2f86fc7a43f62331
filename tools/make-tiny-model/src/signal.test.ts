import { describe, expect, it } from 'vitest';
import { chooseSignalTokens } from './signal.js';

const settings = { endedWithEos: false, maxNewTokens: 48, every: 2 };

describe('chooseSignalTokens', () => {
  it('picks the id occurring most often at steps that can insert, and the step its second occurrence fires', () => {
    expect(chooseSignalTokens([5, 7, 5, 9, 7, 7, 3], settings)).toEqual({ tokenIds: [7], firstInsertionStep: 4, occurrences: 3 });
  });

  it('breaks ties by the earlier firing step', () => {
    expect(chooseSignalTokens([4, 8, 8, 4], settings)).toEqual({ tokenIds: [8], firstInsertionStep: 2, occurrences: 2 });
    expect(chooseSignalTokens([1, 4, 9, 4, 9], { ...settings, every: 1 })).toEqual({ tokenIds: [4], firstInsertionStep: 1, occurrences: 2 });
  });

  it('never counts the last step (nothing is generated after it) or a final end-of-sequence token', () => {
    // 6 occurs twice, but its second occurrence is step 47 = maxNewTokens - 1
    const tokens = Array.from({ length: 48 }, (_, i) => (i === 3 || i === 47 ? 6 : 100 + i));
    expect(chooseSignalTokens(tokens, settings)?.tokenIds).toEqual([100, 101]);
    expect(chooseSignalTokens([2, 3, 2], { ...settings, endedWithEos: true })).toEqual({ tokenIds: [2, 3], firstInsertionStep: 1, occurrences: 2 });
  });

  it('falls back to the first `every` distinct tokens when no id repeats, and gives up when too few tokens can signal', () => {
    expect(chooseSignalTokens([52, 270, 298], { ...settings, endedWithEos: true })).toEqual({ tokenIds: [52, 270], firstInsertionStep: 1, occurrences: 2 });
    expect(chooseSignalTokens([9, 8, 7, 6], { ...settings, every: 3 })).toEqual({ tokenIds: [7, 8, 9], firstInsertionStep: 2, occurrences: 3 });
    expect(chooseSignalTokens([52, 298], { ...settings, endedWithEos: true })).toBeUndefined();
    expect(chooseSignalTokens([], settings)).toBeUndefined();
  });
});
