import { describe, expect, it } from 'vitest';
import { EvalDataError, parseM3CoTSplit, parsePredictions, parseScienceQA, scoreMultipleChoice, type MultipleChoiceSample } from '../src/index.js';

const jsonl = (records: readonly unknown[]): string => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

function thrownBy(fn: () => unknown): EvalDataError {
  try {
    fn();
  } catch (error) {
    return error as EvalDataError;
  }
  throw new Error('expected an error');
}

describe('parsePredictions: the published formats and icot\'s', () => {
  it('M3CoT: the last message is the prediction; id, answer, choices, domain, topic kept', () => {
    const [p] = parsePredictions(jsonl([{ id: 'a-1', answer: 'B', choices: ['x', 'y'], domain: 'science', topic: 't', messages: ['question', 'first', '(B)'] }]), 'p.jsonl');
    expect(p).toEqual({ id: 'a-1', text: '(B)', answer: 'B', choices: ['x', 'y'], domain: 'science', topic: 't', location: { file: 'p.jsonl', line: 1, id: 'a-1' } });
  });
  it('icot results (prediction), ICoT outputs (pred), LLaVA answer files (question_id, text); messages first', () => {
    const records = parsePredictions(
      jsonl([
        { id: 'a', prediction: 'p1' },
        { id: 'b', pred: 'p2', question: 'q', choices: ['c'] },
        { question_id: 7, prompt: 'q', text: 'p3', answer_id: 'z', model_id: 'm', metadata: {} },
        { id: 'c', messages: ['q', 'm'], prediction: 'ignored', pred: 'ignored' },
      ]),
      'p.jsonl',
    );
    expect(records.map((r) => [r.id, r.text])).toEqual([
      ['a', 'p1'],
      ['b', 'p2'],
      ['7', 'p3'],
      ['c', 'm'],
    ]);
  });
  it('blank lines are skipped; line numbers stay those of the file', () => {
    const records = parsePredictions(`\n${JSON.stringify({ id: 'a', prediction: 'x' })}\n\n${JSON.stringify({ id: 'b', prediction: 'y' })}\n`, 'p.jsonl');
    expect(records.map((r) => r.location.line)).toEqual([2, 4]);
  });
  const bad: [string, unknown, RegExp][] = [
    ['no id', { prediction: 'x' }, /line 1 has no id/],
    ['no prediction', { id: 'a', question: 'q' }, /\(id 'a'\) has no prediction: none of "messages", "prediction", "pred", "text"/],
    ['empty messages', { id: 'a', messages: [] }, /"messages" must be a non-empty list whose last element is the prediction text/],
    ['a prediction that is not text', { id: 'a', prediction: 3 }, /"prediction" must be a string/],
    ['choices that are not strings', { id: 'a', prediction: 'x', choices: [1, 2] }, /"choices" must be a list of strings/],
    ['a fractional answer', { id: 'a', prediction: 'x', answer: 1.5 }, /"answer" must be a letter or an integer index, not 1.5/],
  ];
  for (const [name, record, message] of bad)
    it(`error: ${name}`, () => {
      const error = thrownBy(() => parsePredictions(jsonl([record]), 'p.jsonl'));
      expect(error).toBeInstanceOf(EvalDataError);
      expect(error.message).toMatch(message);
      expect(error.hint).toBeTruthy();
    });
});

const sample = (id: string, fields: Partial<MultipleChoiceSample> = {}): MultipleChoiceSample => ({
  dataset: 'm3cot',
  id,
  question: 'q',
  choices: ['cat', 'dog', 'cow'],
  answer: 'A',
  context: '',
  domain: 'science',
  topic: 'biology',
  image: undefined,
  split: 'test',
  location: { file: 'test.jsonl', id },
  record: {},
  ...fields,
});

describe('scoreMultipleChoice: MetricData.metric', () => {
  it('without a dataset every record counts with its own fields, duplicates too', () => {
    const predictions = parsePredictions(
      jsonl([
        { id: 'a', answer: 'A', choices: ['x', 'y'], domain: 'science', topic: 'physics', messages: ['(A)'] },
        { id: 'a', answer: 'A', choices: ['x', 'y'], domain: 'science', topic: 'physics', messages: ['(B)'] },
        { id: 'b', answer: 1, choices: ['x', 'y'], domain: 'mathematics', topic: 'algebra', messages: ['(B)'] },
        { id: 'c', answer: 'A', choices: ['x', 'y'], domain: 'commonsense', topic: 'social', messages: ['y'] },
        { id: 'd', answer: 'B', choices: ['x', 'y'], domain: 'art', topic: 'music', messages: ['I think y'] },
        { id: 'e', answer: 'A', choices: ['x', 'y'], domain: 'science', topic: 'biology', messages: ['A'] },
      ]),
      'p.jsonl',
    );
    const score = scoreMultipleChoice(predictions);
    expect(score).toMatchObject({ total: 6, correct: 4, accuracy: 4 / 6, skipped: { outsideSplit: 0, duplicates: 0 } });
    // M3CoT's sort_metric order (science, commonsense, mathematics), then other domains; topics by name
    expect(Object.keys(score.byDomain)).toEqual(['science', 'commonsense', 'mathematics', 'art']);
    expect(Object.keys(score.byTopic['science']!)).toEqual(['biology', 'physics']);
    expect(score.byDomain['science']).toEqual({ total: 3, correct: 2, accuracy: 2 / 3 });
    expect(score.byTopic['science']!['physics']).toEqual({ total: 2, correct: 1, accuracy: 0.5 });
    expect(score.byDomain['commonsense']).toEqual({ total: 1, correct: 0, accuracy: 0 });
  });

  it('with a dataset: first record per id, ids outside the split skipped, answer/domain/topic from the dataset, choices from the record when present', () => {
    const dataset = [sample('a', { answer: 'B', domain: 'commonsense', topic: 'social' }), sample('b', { answer: 'C' }), sample('c', { answer: 'B' })];
    const predictions = parsePredictions(
      jsonl([
        // the record's answer, domain and topic lose to the dataset's
        { id: 'a', answer: 'A', domain: 'science', topic: 'x', messages: ['(B)'] },
        { id: 'a', messages: ['(A)'] }, // a second record of 'a': skipped
        { id: 'zz', messages: ['(A)'] }, // not in the split
        // no choices in the record: the dataset's ('cow' is its third choice -> C)
        { id: 'b', messages: ['a cow'] },
        // the record's own choices win: 'dog' is its first choice -> A, so wrong (answer B)
        { id: 'c', choices: ['dog', 'cat'], messages: ['a dog'] },
      ]),
      'p.jsonl',
    );
    const score = scoreMultipleChoice(predictions, { dataset });
    expect(score).toMatchObject({ total: 3, correct: 2, skipped: { outsideSplit: 1, duplicates: 1 } });
    expect(score.byTopic).toEqual({
      science: { biology: { total: 2, correct: 1, accuracy: 0.5 } },
      commonsense: { social: { total: 1, correct: 1, accuracy: 1 } },
    });
  });

  it('the extractor option picks the copy of judge_answer', () => {
    const predictions = parsePredictions(jsonl([{ id: 'a', answer: 'B', choices: ['x', 'y', 'z'], domain: 'd', topic: 't', messages: ['[Answer] (B)\n[Rationale] (C) is wrong'] }]), 'p.jsonl');
    expect(scoreMultipleChoice(predictions).correct).toBe(1);
    expect(scoreMultipleChoice(predictions, { extractor: 'icot' }).correct).toBe(0);
  });

  it('ScienceQA: integer answers through the dataset, subjects as domains', () => {
    const problems = {
      '10': { question: 'Which is a mammal?', choices: ['trout', 'otter'], answer: 1, hint: '', image: 'image.png', subject: 'natural science', topic: 'biology', split: 'test' },
      '11': { question: 'Which is a noun?', choices: ['run', 'cat', 'fast'], answer: 1, hint: '', image: 'image.png', subject: 'language science', topic: 'grammar', split: 'test' },
    };
    const dataset = parseScienceQA(JSON.stringify(problems), JSON.stringify({ test: ['10', '11'] }), { split: 'test' });
    const predictions = parsePredictions(jsonl([{ id: '10', prediction: 'The answer is B.' }, { id: 11, prediction: 'fast' }]), 'p.jsonl');
    const score = scoreMultipleChoice(predictions, { dataset: dataset.samples });
    expect(score).toMatchObject({ total: 2, correct: 1 });
    expect(Object.keys(score.byDomain)).toEqual(['language science', 'natural science']);
  });

  it('a record without its own fields and no dataset is an error naming it and the fix', () => {
    const error = thrownBy(() => scoreMultipleChoice(parsePredictions(jsonl([{ id: 'a', messages: ['(A)'], domain: 'd' }]), 'p.jsonl')));
    expect(error.message).toMatch(/^p\.jsonl line 1 \(id 'a'\) has no "choices", "answer", "topic"/);
    expect(error.hint).toMatch(/--data DIR/);
  });

  it('nothing to score is an error (Python divides by zero)', () => {
    expect(() => scoreMultipleChoice([])).toThrow(/holds no records/);
    const outside = parsePredictions(jsonl([{ id: 'zz', messages: ['(A)'] }]), 'p.jsonl');
    expect(() => scoreMultipleChoice(outside, { dataset: [sample('a')] })).toThrow(/None of the 1 prediction records has an id in the dataset's split \(1 samples\)/);
  });

  it('the dataset can come from an M3CoT split file', () => {
    const split = parseM3CoTSplit(jsonl([{ id: 'a', question: 'q', choices: ['x', 'y'], answer: 'B', domain: 'science', topic: 't' }]), { file: 'test.jsonl', split: 'test' });
    expect(scoreMultipleChoice(parsePredictions(jsonl([{ id: 'a', prediction: 'y' }]), 'p.jsonl'), { dataset: split.samples }).correct).toBe(1);
  });
});
