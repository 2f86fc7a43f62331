import { describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { GROUNDING_DEFAULTS, resolveGroundingOptions, type GroundingSelectorOptions } from './options.js';
import { createGroundingSelector } from './selector.js';

describe('grounding options', () => {
  it('fills in the defaults', () => {
    expect(resolveGroundingOptions()).toEqual(GROUNDING_DEFAULTS);
    expect(resolveGroundingOptions({ text: 'noun-phrases', patches: 'covered', minCoverage: 1 })).toMatchObject({ text: 'noun-phrases', patches: 'covered', minCoverage: 1 });
  });

  it('round-trips through JSON (plain data)', () => {
    const options: GroundingSelectorOptions = { grounder: 'vlm', text: 'noun-phrases', maxPhrases: 2, form: 'plain', decoding: 'free', maxAnswerTokens: 16 };
    expect(resolveGroundingOptions(JSON.parse(JSON.stringify(options)) as GroundingSelectorOptions)).toEqual(resolveGroundingOptions(options));
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown key', { tex: 'step' }, /Unknown grounding option tex/],
    ['an unknown grounder', { grounder: 'sam' }, /grounder is "sam"; it must be one of/],
    ['an unknown text mode', { text: 'words' }, /text is "words"/],
    ['a zero maxPhrases', { maxPhrases: 0 }, /maxPhrases is 0; it must be an integer from 1/],
    ['a fractional maxBoxes', { maxBoxes: 1.5 }, /maxBoxes is 1.5/],
    ['a minCoverage of 0', { minCoverage: 0 }, /minCoverage is 0; it must be a number in \(0, 1\]/],
    ['a minCoverage above 1', { minCoverage: 1.5 }, /minCoverage is 1.5/],
    ['an unknown form', { form: 'qwen3-vl' }, /form is "qwen3-vl"/],
    ['an unknown decoding', { decoding: 'beam' }, /decoding is "beam"/],
    ['a string number', { maxAnswerTokens: '32' }, /maxAnswerTokens is "32"/],
    ['not an object', 'vlm', /must be an object/],
  ];
  for (const [what, options, message] of bad)
    it(`refuses ${what} with an OptionError naming it`, () => {
      const error = (() => {
        try {
          createGroundingSelector(options as GroundingSelectorOptions);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(OptionError);
      expect((error as Error).message).toMatch(message);
    });
});
