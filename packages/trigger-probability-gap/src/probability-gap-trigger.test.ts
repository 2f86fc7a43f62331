import { describe, expect, it } from 'vitest';
import { OptionError, type TriggerContext, type TriggerV2 } from '@icot/core';
import { describeTriggerConformance } from '@icot/testing';
import { createProbabilityGapTrigger, endsSentence, PROBABILITY_GAP_DEFAULTS } from './probability-gap-trigger.js';
import { PROBABILITY_GAP_DEMO_SETTINGS } from './demo-settings.js';

describeTriggerConformance('probability-gap, defaults', () => createProbabilityGapTrigger(), { signals: { probabilityGap: true } });
// settings that fire often on the suite's toy model, so that "an insertion exactly where it fires" is exercised
describeTriggerConformance('probability-gap, threshold 1, no spacing', () => createProbabilityGapTrigger({ threshold: 1, minTokensBeforeFirst: 1, minTokensBetween: 1 }), {
  signals: { probabilityGap: true },
});
describeTriggerConformance('probability-gap, threshold 0.9, token ids 3 and 7, spaced 4 / 6', () => createProbabilityGapTrigger({ threshold: 0.9, sentenceEnd: { tokenIds: [3, 7] }, minTokensBeforeFirst: 4, minTokensBetween: 6 }), {
  signals: { probabilityGap: true },
});

/** One token of a hand-made run: its text, its probability gap (undefined = no signal), and its id. */
type Token = readonly [text: string, gap: number | undefined, id?: number];

/**
 * Feed `tokens` to one run, counting insertions as the loop does (a fire inserts while fewer than
 * `budget` insertions were made). Returns the steps it fired on and the steps an insertion followed.
 */
function feed(trigger: TriggerV2, tokens: readonly Token[], budget = Infinity, afterPrompt = false): { fired: number[]; inserted: number[] } {
  const run = trigger.start();
  const fired: number[] = [];
  const inserted: number[] = [];
  let insertions = afterPrompt ? 1 : 0;
  tokens.forEach(([tokenText, probabilityGap, token = 0], step) => {
    const context: TriggerContext = { step, token, tokenText, insertions, signals: probabilityGap === undefined ? {} : { probabilityGap } };
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

/** A sentence of `words` words with probability gap `gap` each, ended by `end` with the same gap. */
const sentence = (words: number, gap: number, end = '.'): Token[] => [...Array.from({ length: words }, (): Token => [' w', gap]), [end, gap]];

describe('createProbabilityGapTrigger', () => {
  it("defaults to DaP-ICoT's threshold 0.2 at punctuation or line-break sentence ends, 16 tokens before the first insertion and between insertions", () => {
    const trigger = createProbabilityGapTrigger();
    expect(PROBABILITY_GAP_DEFAULTS).toEqual({ threshold: 0.2, sentenceEnd: 'punctuation', minTokensBeforeFirst: 16, minTokensBetween: 16 });
    expect(trigger.signals).toEqual({ probabilityGap: true });
    expect(trigger.name).toBe('probability-gap(threshold=0.2,end=punctuation,first=16,gap=16)');
    expect(createProbabilityGapTrigger({ threshold: 0.3, sentenceEnd: 'period', minTokensBeforeFirst: 1, minTokensBetween: 4 }).name).toBe('probability-gap(threshold=0.3,end=period,first=1,gap=4)');
  });

  it('takes its options as JSON: a JSON round trip of the defaults and of the demo settings builds the same triggers', () => {
    expect(createProbabilityGapTrigger(JSON.parse(JSON.stringify(PROBABILITY_GAP_DEFAULTS))).name).toBe(createProbabilityGapTrigger().name);
    expect(createProbabilityGapTrigger(JSON.parse(JSON.stringify(PROBABILITY_GAP_DEMO_SETTINGS))).name).toBe('probability-gap(threshold=0.2,end=ids[64],first=16,gap=16)');
  });

  it('fires at a sentence end when the mean gap over the sentence, its end included, is below the threshold', () => {
    const trigger = createProbabilityGapTrigger({ threshold: 0.2, ...noSpacing });
    const tokens: Token[] = [
      ...sentence(3, 0.1), //                       steps 0-3: mean 0.1 -> fires at 3
      ...sentence(3, 0.5), //                       steps 4-7: mean 0.5
      [' w', 0.05], [' w', 0.05], [' w', 0.05], ['!', 0.65], // 8-11: mean 0.2, not below
      [' w', 0.05], [' w', 0.05], [' w', 0.05], ['?', 0.6], //  12-15: mean 0.1875 -> fires at 15
      [' w', 0.9], [' w', 0.0], ['.\n', 0.0], //                16-18: mean 0.3
      [' w', 0.0], ['。', 0.3], //                              19-20: mean 0.15 -> fires at 20
      [' w', 0.01], [' w', 0.01], //                            no sentence end: never fires mid-sentence
    ];
    expect(feed(trigger, tokens).fired).toEqual([3, 15, 20]);
  });

  it('needs a mean strictly below the threshold (binary fractions, so the means are exact)', () => {
    const at = (threshold: number, tokens: Token[]) => feed(createProbabilityGapTrigger({ threshold, ...noSpacing }), tokens).fired;
    expect(at(0.25, [[' w', 0.125], ['.', 0.375]])).toEqual([]); // mean exactly 0.25
    expect(at(0.25, [[' w', 0.125], ['.', 0.375 - 2 ** -20]])).toEqual([1]);
    expect(at(1, [['.', 1]])).toEqual([]);
    expect(at(1, [['.', 1 - 2 ** -20]])).toEqual([0]);
  });

  it('starts a new sentence after each sentence end, fired or not; tokens without the signal do not count', () => {
    const trigger = createProbabilityGapTrigger({ threshold: 0.2, ...noSpacing });
    // an unsure first sentence does not carry into a sure second one
    expect(feed(trigger, [...sentence(2, 0.0), ...sentence(2, 0.5)]).fired).toEqual([2]);
    // a sentence whose tokens have no signal cannot fire; one token with it decides alone
    expect(feed(trigger, [[' w', undefined], ['.', undefined]]).fired).toEqual([]);
    expect(feed(trigger, [[' w', undefined], [' w', 0.1], ['.', undefined]]).fired).toEqual([2]);
  });

  it("decides sentence ends by punctuation, a line break, DaP-ICoT's exact '.' token, or token ids", () => {
    for (const text of ['.', '!', '?', '。', '！', '？', '\n', '.\n', '\n\n', ' end.', '."', '.)', '?”', '. ', 'a\r\n', '...', '3.'])
      expect(endsSentence(text), JSON.stringify(text)).toBe(true);
    for (const text of [' the', ',', ';', ':', '.net', ' e.g', '', ' ', '"', ')', '-'])
      expect(endsSentence(text), JSON.stringify(text)).toBe(false);
    const unsure = (text: string, id = 0): Token[] => [[' w', 0], [text, 0, id]];
    const fired = (sentenceEnd: 'punctuation' | 'period' | { tokenIds: number[] }, tokens: Token[]) => feed(createProbabilityGapTrigger({ sentenceEnd, ...noSpacing }), tokens).fired;
    expect(fired('punctuation', unsure('.\n'))).toEqual([1]);
    expect(fired('period', unsure('.\n'))).toEqual([]); // DaP-ICoT's code: only the token '.' itself
    expect(fired('period', unsure('.'))).toEqual([1]);
    expect(fired('period', unsure('!'))).toEqual([]);
    expect(fired({ tokenIds: [13] }, unsure('.', 13))).toEqual([1]);
    expect(fired({ tokenIds: [13] }, unsure('.', 12))).toEqual([]);
  });

  it('waits minTokensBeforeFirst generated tokens before the first insertion; a sentence end inside it still closes its sentence', () => {
    const tokens = [...sentence(2, 0.0), ...sentence(3, 0.0), ...sentence(3, 0.5), ...sentence(1, 0.0)]; // ends at 2, 6, 10, 12
    const fired = (minTokensBeforeFirst: number) => feed(createProbabilityGapTrigger({ minTokensBeforeFirst, minTokensBetween: 1 }), tokens).fired;
    expect(fired(1)).toEqual([2, 6, 12]);
    expect(fired(3)).toEqual([2, 6, 12]); // 3 tokens by the end of step 2
    expect(fired(4)).toEqual([6, 12]);
    expect(fired(8)).toEqual([12]); // the unsure sentence 3-6 is not carried over into 7-10
    expect(fired(14)).toEqual([]);
  });

  it('keeps minTokensBetween generated tokens between insertions, counted from insertions that happened', () => {
    const tokens = [...sentence(1, 0), ...sentence(1, 0), ...sentence(1, 0), ...sentence(1, 0), ...sentence(1, 0), ...sentence(1, 0)]; // ends at 1, 3, 5, 7, 9, 11
    const inserted = (minTokensBetween: number) => feed(createProbabilityGapTrigger({ minTokensBeforeFirst: 1, minTokensBetween }), tokens).inserted;
    expect(inserted(1)).toEqual([1, 3, 5, 7, 9, 11]);
    expect(inserted(2)).toEqual([1, 3, 5, 7, 9, 11]);
    expect(inserted(3)).toEqual([1, 5, 9]);
    expect(inserted(6)).toEqual([1, 7]);
    // a spent budget: fires insert nothing and start no gap
    const spent = feed(createProbabilityGapTrigger({ minTokensBeforeFirst: 1, minTokensBetween: 3 }), tokens, 1);
    expect(spent.inserted).toEqual([1]);
    expect(spent.fired).toEqual([1, 5, 7, 9, 11]);
    // the run's after-prompt insertion counts as one before the first token: sentence ends at 3 (4 tokens after it), 7, 11
    expect(feed(createProbabilityGapTrigger({ minTokensBeforeFirst: 1, minTokensBetween: 3 }), tokens, Infinity, true).inserted).toEqual([3, 7, 11]);
  });

  it('refuses options that are not of the documented form, naming the option (OptionError)', () => {
    const bad: [unknown, RegExp][] = [
      [{ threshold: 0 }, /threshold must be a number in \(0, 1\], got 0/],
      [{ threshold: 1.5 }, /threshold/],
      [{ threshold: Number.NaN }, /got NaN/],
      [{ threshold: '0.2' }, /got "0.2"/],
      [{ sentenceEnd: 'newline' }, /sentenceEnd must be/],
      [{ sentenceEnd: { tokenIds: [] } }, /non-empty list/],
      [{ sentenceEnd: { tokenIds: [13, -1] } }, /has -1, which is not a token id/],
      [{ sentenceEnd: { tokenIds: [13], every: 2 } }, /sentenceEnd must be/],
      [{ sentenceEnd: [13] }, /sentenceEnd must be/],
      [{ minTokensBeforeFirst: 0 }, /minTokensBeforeFirst must be an integer >= 1, got 0/],
      [{ minTokensBetween: -3 }, /minTokensBetween/],
      [{ threshold: null }, /threshold/],
      [{ delta: 0.5 }, /Unknown option 'delta' of the probability-gap trigger/],
      [null, /must be an object, got null/],
    ];
    for (const [options, message] of bad) {
      const error = (() => {
        try {
          createProbabilityGapTrigger(options as never);
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
