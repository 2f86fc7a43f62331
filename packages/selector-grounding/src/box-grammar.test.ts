import { describe, expect, it } from 'vitest';
import type { TokenizerV1 } from '@icot/core';
import { bboxListGrammar, canWrite, GRAMMAR_START, grammarTokens, isComplete, pointPairGrammar, readEnd, readText, type BoxGrammar } from './box-grammar.js';

const accepts = (grammar: BoxGrammar, text: string, end = false): boolean => {
  let state = readText(grammar, GRAMMAR_START, text);
  if (state && end) state = readEnd(grammar, state);
  return state !== undefined && isComplete(grammar, state);
};

describe('box grammars', () => {
  it('point pairs: (x1,y1),(x2,y2) in [0, 1000), no leading zeros, x2 > x1 and y2 > y1, then the closing token when asked', () => {
    const g = pointPairGrammar(false);
    expect(accepts(g, '(0,12),(345,999)')).toBe(true);
    expect(accepts(g, '(998,998),(999,999)')).toBe(true);
    expect(accepts(g, '(0,12),(345,1000)')).toBe(false);
    expect(accepts(g, '(999,0),(999,5)')).toBe(false); // x1 must leave room for x2
    expect(accepts(g, '(5,5),(5,6)')).toBe(false); // no width
    expect(accepts(g, '(5,5),(4,6)')).toBe(false); // reversed
    expect(accepts(g, '(5,9),(6,10)')).toBe(true);
    expect(accepts(g, '(5,9),(6,9)')).toBe(false); // no height
    expect(accepts(g, '(05,9),(60,90)')).toBe(false); // leading zero
    expect(accepts(g, '(,12),(3,4)')).toBe(false);
    expect(accepts(g, '(1, 2),(3,4)')).toBe(false);
    expect(accepts(g, '(1,2),(3,4')).toBe(false);
    const closed = pointPairGrammar(true);
    expect(accepts(closed, '(1,2),(3,4)')).toBe(false);
    expect(accepts(closed, '(1,2),(3,4)', true)).toBe(true);
    expect(readEnd(closed, readText(closed, GRAMMAR_START, '(1,2),(3,')!)).toBeUndefined();
  });

  it('never lets a number start that cannot end in range', () => {
    const g = pointPairGrammar(false);
    const after = readText(g, GRAMMAR_START, '(850,10),(')!;
    // x2 > 850: '8' and '9' can start it (851..899, 9xx), '1'..'7' cannot (at most 3 digits), '0' is a lone zero
    const starts = '0123456789'.split('').filter((d) => readText(g, after, d) !== undefined);
    expect(starts).toEqual(['8', '9']);
    expect(readText(g, after, '85,')).toBeUndefined();
    expect(readText(g, after, '851,')).toBeDefined();
  });

  it('bbox_2d lists: x1, y1, x2, y2] in pixels of the resized image, optional spaces', () => {
    const g = bboxListGrammar(644, 476);
    expect(accepts(g, '12, 34, 56, 78]')).toBe(true);
    expect(accepts(g, '12,34,56,78]')).toBe(true);
    expect(accepts(g, '0, 0, 644, 476]')).toBe(true);
    expect(accepts(g, '0, 0, 645, 476]')).toBe(false);
    expect(accepts(g, '644, 0, 644, 476]')).toBe(false);
    expect(accepts(g, '12, 34, 56]')).toBe(false);
    expect(accepts(g, '12,  34, 56, 78]')).toBe(false);
  });
});

/** A tokenizer over a fixed list of token strings: greedy longest match, unknown characters as one unknown token (`?`). */
function listTokenizer(tokens: readonly string[]): TokenizerV1 {
  return {
    encode(text) {
      const ids: number[] = [];
      for (let i = 0; i < text.length; ) {
        let best = -1;
        for (let id = 0; id < tokens.length; id++) if (text.startsWith(tokens[id]!, i) && (best < 0 || tokens[id]!.length > tokens[best]!.length)) best = id;
        ids.push(best < 0 ? tokens.length : best);
        i += best < 0 ? 1 : tokens[best]!.length;
      }
      return ids;
    },
    decode: (ids) => ids.map((id) => tokens[id] ?? '?').join(''),
    tokenToId: (token) => (tokens.includes(token) ? tokens.indexOf(token) : undefined),
  };
}

describe('grammarTokens', () => {
  const digits = '0123456789'.split('');
  it('finds the single tokens for digits, separators and merged separators, and adds the closing token', () => {
    const tokenizer = listTokenizer([...digits, '(', ')', ',', ' ', ']', '),(', 'hello', '<|box_end|>']);
    const found = grammarTokens(tokenizer, 17);
    expect(found.map((t) => t.text ?? '<end>')).toEqual([...digits, '(', ')', ',', ' ', ']', '),(', '<end>']);
    expect(canWrite(pointPairGrammar(true), found)).toBe(true);
    expect(canWrite(bboxListGrammar(100, 100), found)).toBe(true);
  });

  it('says when a tokenizer cannot write a grammar (no digit tokens, no closing token)', () => {
    const letters = listTokenizer(['a', 'b', '(', ')', ',', ']']);
    expect(canWrite(pointPairGrammar(false), grammarTokens(letters))).toBe(false);
    const noEnd = listTokenizer([...digits, '(', ')', ',']);
    expect(canWrite(pointPairGrammar(false), grammarTokens(noEnd))).toBe(true);
    expect(canWrite(pointPairGrammar(true), grammarTokens(noEnd))).toBe(false);
  });
});
