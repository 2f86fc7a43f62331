import { describe, expect, it } from 'vitest';
import { OptionError, type TriggerContext, type TriggerV2 } from '@icot/core';
import { describeTriggerConformance } from '@icot/testing';
import { ATTENTION_SHIFT_DEFAULTS, createAttentionShiftTrigger } from './attention-shift-trigger.js';
import { ATTENTION_SHIFT_DEMO_SETTINGS } from './demo-settings.js';

// The suite's toy model has 2 decoder layers, so the paper's last 3 cannot be read there: the
// suites run the paper's delta on its last 2 layers, and settings that fire often (so that
// "an insertion exactly where it fires" is exercised), with and without spacing.
describeTriggerConformance('attention-shift, delta 0.5, last 2 layers', () => createAttentionShiftTrigger({ layers: { last: 2 } }), {
  signals: { imageAttention: { layers: { last: 2 } } },
});
describeTriggerConformance('attention-shift, any rise, layer 1, no spacing', () => createAttentionShiftTrigger({ delta: 0, layers: [1], minTokensBeforeFirst: 1, minTokensBetween: 1 }), {
  signals: { imageAttention: { layers: [1] } },
});
describeTriggerConformance('attention-shift, delta 0.01, all layers, spaced 5 / 3', () => createAttentionShiftTrigger({ delta: 0.01, layers: 'all', minTokensBeforeFirst: 5, minTokensBetween: 3 }), {
  signals: { imageAttention: { layers: 'all' } },
});

/**
 * Feed `values` (the imageAttention of each step; undefined = no signal) to one run, counting
 * insertions as the loop does: a fire inserts while fewer than `budget` insertions were made.
 * Returns the steps it fired on and the steps an insertion followed.
 */
function feed(trigger: TriggerV2, values: readonly (number | undefined)[], budget = Infinity, afterPrompt = false): { fired: number[]; inserted: number[] } {
  const run = trigger.start();
  const fired: number[] = [];
  const inserted: number[] = [];
  let insertions = afterPrompt ? 1 : 0;
  values.forEach((imageAttention, step) => {
    const context: TriggerContext = { step, token: 0, tokenText: ' x', insertions, signals: imageAttention === undefined ? {} : { imageAttention } };
    if (run.onToken(context)) {
      fired.push(step);
      if (insertions < budget) {
        insertions += 1;
        inserted.push(step);
      }
    }
  });
  return { fired, inserted };
}

const noSpacing = { minTokensBeforeFirst: 1, minTokensBetween: 1 } as const;

describe('createAttentionShiftTrigger', () => {
  it('defaults to AIM-CoT: delta 0.5 over the last 3 layers, 16 tokens before the first insertion and between insertions', () => {
    const trigger = createAttentionShiftTrigger();
    expect(ATTENTION_SHIFT_DEFAULTS).toEqual({ delta: 0.5, layers: { last: 3 }, minTokensBeforeFirst: 16, minTokensBetween: 16 });
    expect(trigger.signals).toEqual({ imageAttention: { layers: { last: 3 } } });
    expect(trigger.name).toBe('attention-shift(delta=0.5,layers=last3,first=16,gap=16)');
    expect(createAttentionShiftTrigger({ delta: 0.2, layers: [26, 27], minTokensBeforeFirst: 1, minTokensBetween: 8 }).name).toBe(
      'attention-shift(delta=0.2,layers=[26,27],first=1,gap=8)',
    );
    expect(createAttentionShiftTrigger({ layers: 'all' }).signals).toEqual({ imageAttention: { layers: 'all' } });
  });

  it('takes its options as JSON: a JSON round trip of the defaults and of the demo settings builds the same triggers', () => {
    const defaults = createAttentionShiftTrigger(JSON.parse(JSON.stringify(ATTENTION_SHIFT_DEFAULTS)));
    expect(defaults.name).toBe(createAttentionShiftTrigger().name);
    const demo = createAttentionShiftTrigger(JSON.parse(JSON.stringify(ATTENTION_SHIFT_DEMO_SETTINGS)));
    expect(demo.name).toBe('attention-shift(delta=0.05,layers=last2,first=16,gap=16)');
    expect(demo.signals).toEqual({ imageAttention: { layers: { last: 2 } } });
  });

  it('fires exactly on the tokens whose image attention rose by more than delta since the previous token', () => {
    const trigger = createAttentionShiftTrigger({ delta: 0.2, ...noSpacing });
    //            step: 0    1    2    3     4    5    6     7    8
    const attention = [0.9, 0.1, 0.35, 0.5, 0.25, 0.7, 0.95, 0.2, 0.45];
    // rises: 1 -0.8, 2 +0.25, 3 +0.15, 4 -0.25, 5 +0.45, 6 +0.25, 7 -0.75, 8 +0.25
    expect(feed(trigger, attention).fired).toEqual([2, 5, 6, 8]);
    // the first token has no previous one: it never fires, however high its attention
    expect(feed(trigger, [1]).fired).toEqual([]);
  });

  it('needs a rise of strictly more than delta (the paper: the shift exceeds the threshold)', () => {
    // binary fractions, so the differences are exact
    const at = (delta: number, values: number[]) => feed(createAttentionShiftTrigger({ delta, ...noSpacing }), values).fired;
    expect(at(0.5, [0.125, 0.625])).toEqual([]); // a rise of exactly 0.5
    expect(at(0.5, [0.125, 0.625 + 2 ** -20])).toEqual([1]);
    expect(at(0.25, [0.5, 0.75])).toEqual([]);
    expect(at(0.25, [0.5, 0.75 + 2 ** -20])).toEqual([1]);
    // delta 0: any rise at all fires, no change does not
    expect(at(0, [0.5, 0.5, 0.5 + 2 ** -20, 0.25])).toEqual([2]);
  });

  it('compares consecutive tokens only: a missing signal (a KV insertion that fed nothing) starts over', () => {
    const trigger = createAttentionShiftTrigger({ delta: 0.2, ...noSpacing });
    expect(feed(trigger, [0.1, undefined, 0.9]).fired).toEqual([]);
    expect(feed(trigger, [0.1, undefined, 0.2, 0.9]).fired).toEqual([3]);
  });

  it('waits minTokensBeforeFirst generated tokens before the first insertion', () => {
    // a rise of 0.5 on every odd step
    const zigzag = Array.from({ length: 12 }, (_, i) => (i % 2 ? 0.75 : 0.25));
    const fired = (minTokensBeforeFirst: number) => feed(createAttentionShiftTrigger({ delta: 0.4, minTokensBeforeFirst, minTokensBetween: 1 }), zigzag).fired;
    expect(fired(1)).toEqual([1, 3, 5, 7, 9, 11]);
    expect(fired(2)).toEqual([1, 3, 5, 7, 9, 11]); // after the token of step 1, 2 tokens were generated
    expect(fired(3)).toEqual([3, 5, 7, 9, 11]);
    expect(fired(6)).toEqual([5, 7, 9, 11]);
    expect(fired(7)).toEqual([7, 9, 11]);
  });

  it('keeps minTokensBetween generated tokens between insertions, counted from insertions that happened', () => {
    const rises = Array.from({ length: 20 }, (_, i) => (i % 2 ? 0.75 : 0.25)); // rises on odd steps
    const trigger = createAttentionShiftTrigger({ delta: 0.4, minTokensBeforeFirst: 1, minTokensBetween: 4 });
    // insertion after step 1; steps 2..5 are 4 tokens, so step 5 is the first allowed again
    expect(feed(trigger, rises).inserted).toEqual([1, 5, 9, 13, 17]);
    const gap3 = createAttentionShiftTrigger({ delta: 0.4, minTokensBeforeFirst: 1, minTokensBetween: 3 });
    expect(feed(gap3, rises).inserted).toEqual([1, 5, 9, 13, 17]); // step 4 would keep the gap but has no rise
    const gap2 = createAttentionShiftTrigger({ delta: 0.4, minTokensBeforeFirst: 1, minTokensBetween: 2 });
    expect(feed(gap2, rises).inserted).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    // when the budget is spent, fires insert nothing and start no gap: the trigger keeps firing on every rise
    const spent = feed(trigger, rises, 1);
    expect(spent.inserted).toEqual([1]);
    expect(spent.fired).toEqual([1, 5, 7, 9, 11, 13, 15, 17, 19]);
  });

  it('counts the run\'s after-prompt insertion as one before the first token', () => {
    const rises = Array.from({ length: 10 }, (_, i) => (i % 2 ? 0.75 : 0.25));
    const trigger = createAttentionShiftTrigger({ delta: 0.4, minTokensBeforeFirst: 1, minTokensBetween: 4 });
    // 4 tokens (steps 0..3) after the prompt's insertion: step 3 is the first allowed
    expect(feed(trigger, rises, Infinity, true).inserted).toEqual([3, 7]);
  });

  it('refuses options that are not of the documented form, naming the option (OptionError)', () => {
    const bad: [unknown, RegExp][] = [
      [{ delta: 1 }, /delta must be a number in \[0, 1\), got 1/],
      [{ delta: -0.1 }, /delta/],
      [{ delta: Number.NaN }, /got NaN/],
      [{ delta: '0.5' }, /got "0.5"/],
      [{ layers: [] }, /empty list/],
      [{ layers: [3, 3] }, /twice/],
      [{ layers: [-1] }, /not a layer index/],
      [{ layers: [1.5] }, /not a layer index/],
      [{ layers: { last: 0 } }, /layers.last must be an integer >= 1, got 0/],
      [{ layers: { last: 2.5 } }, /layers.last/],
      [{ layers: { last: 3, first: 1 } }, /layers must be/],
      [{ layers: 'last3' }, /layers must be/],
      [{ minTokensBeforeFirst: 0 }, /minTokensBeforeFirst must be an integer >= 1, got 0/],
      [{ minTokensBetween: 2.5 }, /minTokensBetween must be an integer >= 1, got 2.5/],
      [{ minTokensBetween: null }, /minTokensBetween/],
      [{ threshold: 0.2 }, /Unknown option 'threshold' of the attention-shift trigger/],
      [{ name: 'attention-shift' }, /Unknown option 'name'/],
      [null, /must be an object, got null/],
      [[0.5], /must be an object, got an array/],
    ];
    for (const [options, message] of bad) {
      const error = (() => {
        try {
          createAttentionShiftTrigger(options as never);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(options)).toBeInstanceOf(OptionError);
      expect((error as OptionError).message).toMatch(message);
      expect((error as OptionError).hint, JSON.stringify(options)).toBeTruthy();
    }
  });
});
