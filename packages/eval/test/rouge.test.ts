import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lcsLength, numpyMean, parseLlavaBench, parsePredictions, rougeL, scoreRougeL } from '../src/index.js';

// Expected values come from pycocoevalcap 1.2's Rouge and numpy under Python (fixture provenance).
const fixtures = new URL('./fixtures/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), 'utf8');
const { cases, means } = JSON.parse(read('rouge-cases.json')) as {
  cases: { name: string; candidate: string; references: string[]; expected: number }[];
  means: { name: string; values: number[]; expected: number }[];
};

describe('rougeL: pycocoevalcap Rouge.calc_score on raw strings', () => {
  for (const c of cases) it(`${c.name}: ${c.expected}`, () => expect(rougeL(c.candidate, c.references)).toBe(c.expected));

  it('by hand: "a x c y e" vs "a b c d e" has LCS 3, P = R = 0.6, so F = 0.6', () => {
    expect(lcsLength('a x c y e'.split(' '), 'a b c d e'.split(' '))).toBe(3);
    expect(rougeL('a x c y e', ['a b c d e'])).toBeCloseTo(0.6, 15);
  });
  it('by hand: "a b" vs six tokens: P = 1, R = 1/3, F = 2.44 R / (R + 1.44)', () => {
    expect(rougeL('a b', ['a b c d e f'])).toBeCloseTo((2.44 * (1 / 3)) / (1 / 3 + 1.44), 15);
  });
  it('LCS is symmetric and bounded by the shorter list', () => {
    const a = 'the quick brown fox jumps over the lazy dog'.split(' ');
    const b = 'a quick fox jumps over a dog'.split(' ');
    expect(lcsLength(a, b)).toBe(5);
    expect(lcsLength(b, a)).toBe(5);
    expect(lcsLength([], a)).toBe(0);
  });
  it('no reference is an error (an AssertionError in Python)', () => expect(() => rougeL('a', [])).toThrow(/at least one reference/));
});

describe('numpyMean: np.mean bit for bit (pairwise summation)', () => {
  for (const m of means) it(`${m.name}`, () => expect(numpyMean(m.values)).toBe(m.expected));
  it('differs from a left-to-right sum where numpy\'s order gives another rounding', () => {
    const naive = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect(means.some((m) => naive(m.values) !== m.expected)).toBe(true);
  });
  it('an empty list is NaN', () => expect(numpyMean([])).toBeNaN());
});

describe('scoreRougeL on LLaVA-Bench-in-the-Wild: Bard\'s published answers against GPT-4\'s', () => {
  const dataset = parseLlavaBench({ questions: read('llava-bench/questions.jsonl'), answers: read('llava-bench/answers_gpt4.jsonl'), context: read('llava-bench/context.jsonl') });
  const reference = JSON.parse(read('llava-bench/reference-bard.json')) as Record<string, { total: number; rougeL: number; scores: number[] }>;
  const bard = parsePredictions(read('llava-bench/bard_0718.jsonl'), 'bard_0718.jsonl');

  it('the mean over the 60 questions and per category equal pycocoevalcap\'s compute_score', () => {
    const score = scoreRougeL(bard, dataset.samples);
    expect(score.total).toBe(60);
    expect(score.rougeL).toBe(reference['all']!.rougeL);
    expect(score.perQuestion.map((q) => q.rougeL)).toEqual(reference['all']!.scores);
    expect(Object.keys(score.byCategory)).toEqual(['conv', 'detail', 'complex']);
    for (const category of ['conv', 'detail', 'complex'])
      expect(score.byCategory[category]).toEqual({ total: reference[category]!.total, rougeL: reference[category]!.rougeL });
    expect(score.missing).toEqual([]);
  });

  it('first answer per question counts; unknown ids are skipped; unanswered questions are listed', () => {
    const lines = read('llava-bench/bard_0718.jsonl').trim().split('\n');
    const text = [lines[0]!, JSON.stringify({ question_id: 0, text: 'a different second answer' }), JSON.stringify({ question_id: 999, text: 'x' }), ...lines.slice(2)].join('\n');
    const score = scoreRougeL(parsePredictions(text, 'answers.jsonl'), dataset.samples);
    expect(score.total).toBe(59);
    expect(score.skipped).toEqual({ outsideSplit: 1, duplicates: 1 });
    expect(score.missing).toEqual(['1']);
    expect(score.perQuestion[0]!.rougeL).toBe(reference['all']!.scores[0]);
  });

  it('nothing to score is an error that says so', () => {
    expect(() => scoreRougeL(parsePredictions('{"question_id": 999, "text": "x"}\n', 'a.jsonl'), dataset.samples)).toThrow(/None of the 1 prediction records answers a question/);
  });
});
