import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { EvalDataError, parseM3CoTSplit, parsePredictions, scoreMultipleChoice, type Extractor, type MultipleChoiceSample } from '../src/index.js';

// Acceptance: re-scoring M3CoT's published prediction files gives the totals M3CoT's own
// MetricData.metric / judge_answer gives under Python on the same files (fixtures/m3cot/reference.json,
// made by scripts/reference.py; see fixtures/m3cot/PROVENANCE.md).

const fixture = (name: string): string => gunzipSync(readFileSync(new URL(`./fixtures/m3cot/${name}.jsonl.gz`, import.meta.url))).toString('utf8');

interface Counts {
  readonly total: number;
  readonly correct: number;
}
interface Row {
  readonly mode: 'records' | 'records-icot' | 'test-split' | 'test-split-first-500' | 'test-split-concatenated';
  readonly file: string;
  readonly total?: number;
  readonly correct?: number;
  readonly byDomain?: Record<string, Counts>;
  readonly byTopic?: Record<string, Record<string, Counts>>;
  readonly error?: string;
}
const { rows } = JSON.parse(readFileSync(new URL('./fixtures/m3cot/reference.json', import.meta.url), 'utf8')) as { rows: Row[] };

const splitText = fixture('test-split');
const testSplit = parseM3CoTSplit(splitText, { file: 'test.jsonl', split: 'test' }).samples;
const first500 = parseM3CoTSplit(splitText.split('\n').slice(0, 500).join('\n'), { file: 'test.jsonl', split: 'test' }).samples;

function predictionsText(file: string): string {
  return file === 'gemini-cot+llava-7b-cot' ? fixture('gemini-cot') + fixture('llava-7b-cot') : fixture(file);
}

function counts<T extends Counts>(tallies: Record<string, T>): Record<string, Counts> {
  return Object.fromEntries(Object.entries(tallies).map(([k, v]) => [k, { total: v.total, correct: v.correct }]));
}

describe('published M3CoT predictions score as M3CoT\'s own Python scores them', () => {
  it('the issue\'s examples: gemini/cot 1100 of 2,318, llava-7b/cot 829 of 2,318', () => {
    expect(rows.find((r) => r.mode === 'records' && r.file === 'gemini-cot')).toMatchObject({ total: 2318, correct: 1100 });
    expect(rows.find((r) => r.mode === 'records' && r.file === 'llava-7b-cot')).toMatchObject({ total: 2318, correct: 829 });
  });

  for (const row of rows)
    it(`${row.file} (${row.mode}): ${row.error ?? `${row.correct} of ${row.total}`}`, () => {
      const predictions = parsePredictions(predictionsText(row.file), `${row.file}.jsonl`);
      const dataset: readonly MultipleChoiceSample[] | undefined = row.mode.startsWith('test-split') ? (row.mode === 'test-split-first-500' ? first500 : testSplit) : undefined;
      const extractor: Extractor = row.mode === 'records-icot' ? 'icot' : 'm3cot';
      const score = () => scoreMultipleChoice(predictions, { extractor, ...(dataset ? { dataset } : {}) });
      if (row.error) {
        // Python raises KeyError: 'choices' on a record without choices and no map
        expect(row.error).toBe("KeyError: 'choices'");
        const error = (() => {
          try {
            score();
          } catch (e) {
            return e as EvalDataError;
          }
          throw new Error('no error');
        })();
        expect(error).toBeInstanceOf(EvalDataError);
        expect(error.message).toMatch(/^gemini-dsp\.jsonl line \d+ \(id '[^']+'\) has no "choices", "answer"/);
        expect(error.hint).toMatch(/--data DIR/);
        return;
      }
      const result = score();
      expect({ total: result.total, correct: result.correct }).toEqual({ total: row.total, correct: row.correct });
      expect(result.accuracy).toBe(row.correct! / row.total!);
      expect(counts(result.byDomain)).toEqual(row.byDomain);
      expect(Object.fromEntries(Object.entries(result.byTopic).map(([d, topics]) => [d, counts(topics)]))).toEqual(row.byTopic);
      if (row.mode === 'test-split-first-500') expect(result.skipped).toEqual({ outsideSplit: 1818, duplicates: 0 });
      if (row.mode === 'test-split-concatenated') expect(result.skipped).toEqual({ outsideSplit: 0, duplicates: 2318 });
    });
});

