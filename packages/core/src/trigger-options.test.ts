import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import type { TriggerContext } from './spec/trigger.js';
import { checkMinTokens, checkOptionKeys, insertionSpacing, optionOr } from './trigger-options.js';

const at = (step: number, insertions: number) => ({ step, insertions }) as unknown as TriggerContext;

describe('trigger option helpers', () => {
  it('checkOptionKeys accepts known keys and names a misspelt one', () => {
    expect(checkOptionKeys('demo trigger', undefined, ['delta'])).toEqual({});
    expect(checkOptionKeys('demo trigger', { delta: 1 }, ['delta'])).toEqual({ delta: 1 });
    expect(() => checkOptionKeys('demo trigger', { detla: 1 }, ['delta'])).toThrow(OptionError);
    expect(() => checkOptionKeys('demo trigger', { detla: 1 }, ['delta'])).toThrow(/Unknown option 'detla' of the demo trigger/);
    expect(() => checkOptionKeys('demo trigger', [1], ['delta'])).toThrow(/must be an object, got an array/);
    expect(optionOr({ a: null }, 'a', 3)).toBeNull();
    expect(optionOr({}, 'a', 3)).toBe(3);
  });

  it('checkMinTokens takes integers >= 1', () => {
    expect(checkMinTokens('minTokensBetween', 1)).toBe(1);
    for (const bad of [0, 1.5, '2', Number.NaN]) expect(() => checkMinTokens('minTokensBetween', bad)).toThrow(/minTokensBetween must be an integer >= 1/);
  });

  it('insertionSpacing: tokens before the first insertion and between insertions', () => {
    const allows = insertionSpacing(3, 2);
    expect([0, 1, 2].map((step) => allows(at(step, 0)))).toEqual([false, false, true]); // 3 tokens generated at step 2
    // an insertion came right before step 5 (after step 4): step 5 is 1 token after it, step 6 is 2
    expect(allows(at(5, 1))).toBe(false);
    expect(allows(at(6, 1))).toBe(true);
    // the after-prompt insertion counts as one after step -1
    const afterPrompt = insertionSpacing(1, 4);
    expect([0, 1, 2, 3].map((step) => afterPrompt(at(step, 1)))).toEqual([false, false, false, true]);
  });
});
