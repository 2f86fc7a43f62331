import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EvalDataError, FAILED, answerLetter, extractAnswer, judgeAnswer, type Extractor } from '../src/index.js';

// Known answers for every rule of judge_answer and its edge cases. The expected letters were
// checked against the original Python (scripts/reference.py judge, see the fixture's provenance).
interface Case {
  readonly name: string;
  readonly text: string;
  readonly choices: string[];
  readonly m3cot: string;
  readonly icot: string;
}
const { cases } = JSON.parse(readFileSync(new URL('./fixtures/judge-cases.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('extractAnswer: judge_answer rule for rule', () => {
  for (const extractor of ['m3cot', 'icot'] as const satisfies readonly Extractor[])
    describe(extractor, () => {
      for (const c of cases)
        it(c.name, () => {
          const expected = c[extractor];
          if (expected === 'error') {
            expect(() => extractAnswer(c.text, c.choices, { extractor })).toThrow(EvalDataError);
            return;
          }
          expect(extractAnswer(c.text, c.choices, { extractor })).toBe(expected);
          // judge_answer is pred == answer: true for the predicted letter, false for every other one
          for (const letter of ['A', 'B', 'C', 'D', 'E', 'F', 'Z', FAILED]) expect(judgeAnswer(c.text, c.choices, letter, { extractor })).toBe(letter === expected);
        });
    });

  it('the cases cover every rule and both copies differ where the [Answer] rule matters', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(cases.filter((c) => c.m3cot !== c.icot).length).toBeGreaterThanOrEqual(4);
  });

  it('defaults to the m3cot copy', () => {
    expect(extractAnswer('[Answer] (B)\n[Rationale] (C) is wrong', ['x', 'y', 'z'])).toBe('B');
  });

  it('the seventh-choice error names the record and the fix', () => {
    const error = (() => {
      try {
        extractAnswer('nothing here', ['one', 'two', 'three', 'four', 'five', 'six', 'seven'], { location: { file: 'p.jsonl', line: 4, id: 'x-1' } });
      } catch (e) {
        return e as EvalDataError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(EvalDataError);
    expect(error.code).toBe('invalid-data');
    expect(error.location).toEqual({ file: 'p.jsonl', line: 4, id: 'x-1' });
    expect(error.message).toMatch(/index 6 has no letter/);
    expect(error.hint).toMatch(/at most 6 choices/);
  });
});

describe('judgeAnswer: the answer as judge_answer reads it', () => {
  const choices = ['a', 'b', 'c', 'd'];
  it('an integer answer is ALPHA_MAP[answer], negative ones counting from F as Python indexes', () => {
    expect(answerLetter(1)).toBe('B');
    expect(answerLetter(-1)).toBe('F');
    expect(answerLetter(-6)).toBe('A');
    expect(judgeAnswer('(B)', choices, 1)).toBe(true);
    expect(judgeAnswer('(F)', choices, -1)).toBe(true);
    expect(judgeAnswer('(A)', choices, -6)).toBe(true);
  });
  it('an integer outside -6..5 is an error (IndexError in Python), checked before the text', () => {
    for (const answer of [6, -7]) expect(() => judgeAnswer('(B)', choices, answer)).toThrow(EvalDataError);
  });
  it('"FAILED" as the answer equals a failed extraction; null never matches', () => {
    expect(judgeAnswer('nothing', choices, 'FAILED')).toBe(true);
    expect(judgeAnswer('(B)', choices, null)).toBe(false);
    expect(judgeAnswer('(B)', choices, 1.5)).toBe(false);
  });
  it('a lower-case answer letter never matches (predictions are upper case)', () => {
    expect(judgeAnswer('(b)', choices, 'b')).toBe(false);
  });
});
