import { describe, expect, it } from 'vitest';
import { cleanStepText, groundingTexts, lastChars, nounPhrases } from './text.js';

describe('cleanStepText', () => {
  it('removes special tokens, control characters and quotes, and collapses white space', () => {
    expect(cleanStepText('<|im_start|>The "red"\u0000 square<|im_end|>\n\n is <image> here.\u200b')).toBe('The red square is here.');
    expect(cleanStepText('  \n ')).toBe('');
  });
});

describe('lastChars', () => {
  it('keeps the end of a long text, cut at a word boundary', () => {
    expect(lastChars('one two three four', 100)).toBe('one two three four');
    expect(lastChars('one two three four', 12)).toBe('three four');
    expect(lastChars('abcdefghij', 4)).toBe('ghij');
  });
});

describe('nounPhrases (the documented heuristic)', () => {
  it('splits at determiners, prepositions, verbs and punctuation and drops the determiners', () => {
    expect(nounPhrases('The red square is in the top left corner.', 5)).toEqual(['red square', 'top left corner']);
    expect(nounPhrases('Step 1: Look at the blue circle, next to a green stripe!', 5)).toEqual(['blue circle', 'green stripe']);
  });

  it('keeps the last four words of a long run, counts repeats once and stops at max', () => {
    expect(nounPhrases('the big old rusty red car is near the car and the tree and the house', 2)).toEqual(['old rusty red car', 'car']);
    expect(nounPhrases('a cat. a cat. a dog.', 5)).toEqual(['cat', 'dog']);
  });

  it('finds nothing in text without words', () => {
    expect(nounPhrases('1 2 3 ... !!', 3)).toEqual([]);
    expect(nounPhrases('it is there.', 3)).toEqual([]);
  });
});

describe('groundingTexts', () => {
  const settings = { text: 'step' as const, maxPhrases: 3, maxTextChars: 200 };
  it('grounds the cleaned step, or its noun phrases', () => {
    expect(groundingTexts('<|im_start|>The red square is in the top left.\n', settings)).toEqual(['The red square is in the top left.']);
    expect(groundingTexts('The red square is in the top left.\n', { ...settings, text: 'noun-phrases' })).toEqual(['red square', 'top left']);
  });

  it('has nothing to ground in an empty step or one without letters or digits', () => {
    expect(groundingTexts('', settings)).toEqual([]);
    expect(groundingTexts(' \n<|im_end|> ... ', settings)).toEqual([]);
  });
});
