import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EvalDataError,
  expectedSampleIds,
  mergeShards,
  numpyMean,
  parseLlavaBench,
  parseM3CoTSplit,
  parseResultLines,
  parseRunFile,
  selectSamples,
  summarizeRun,
  type MultipleChoiceRunReport,
  type RougeRunReport,
  type ShardInput,
} from '../src/index.js';
import { fixturePath } from './layout.js';

// Run folders as `icot eval run` writes them (the format agreed with it): result lines
// {"schemaVersion", "id", "prediction", "extracted", "correct" | "rougeL", "domain", "topic", ...},
// failed samples {"schemaVersion", "id", "error"}, one line per sample ending in a line end, and
// one run file per shard.

const split = parseM3CoTSplit(readFileSync(fixturePath('m3cot-layout/test.jsonl'), 'utf8'), { file: 'test.jsonl', split: 'test' }).samples;
const splitIds = split.map((s) => s.id);
/** Which of the 12 fixture samples a model got right: commonsense 3 of 4, mathematics 1 of 4, science 3 of 4. */
const RIGHT = new Set(['physical-commonsense-1398', 'physical-commonsense-1342', 'physics-1074', 'mathematics-1358', 'figurative-language-72', 'figurative-language-3', 'biology-439']);

function line(id: string, extra: Record<string, unknown> = {}): string {
  const sample = split.find((s) => s.id === id)!;
  return JSON.stringify({
    schemaVersion: 1,
    id,
    prediction: `The answer is (${RIGHT.has(id) ? sample.answer : 'Z'}).`,
    extracted: RIGHT.has(id) ? sample.answer : 'FAILED',
    correct: RIGHT.has(id),
    domain: sample.domain,
    topic: sample.topic,
    insertions: [{ step: 3, selected: [1, 2], selector: 'ads' }],
    usage: { promptTokens: 100, generatedTokens: 40, insertedTokens: 18 },
    timings: { totalMs: 1000, modelMs: 900 },
    ...extra,
  });
}

/** Lines as a results file holds them: each with its line end. */
const file = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('');

const RUN = { schemaVersion: 1, dataset: 'm3cot', split: 'test', method: 'icot', shots: 0, preset: null, description: { model: 'demo', selector: 'ads', k: 4 }, versions: { '@icot/cli': '0.1.0' }, modelFiles: { 'config.json': 'abc' }, limit: null, ids: null };

function shard(index: number | null, count: number, ids: readonly string[] | null, run: Record<string, unknown> = {}, tail = ''): ShardInput {
  const s = index === null ? null : { index, count };
  const name = s ? `-${s.index}-of-${s.count}` : '';
  return {
    shard: s,
    run: { file: `out/run${name}.json`, value: parseRunFile(JSON.stringify({ ...RUN, shard: s, ...run }), `out/run${name}.json`) },
    ...(ids ? { results: { file: `out/results${name}.jsonl`, lines: parseResultLines(file(ids.map((id) => line(id))) + tail, `out/results${name}.jsonl`) } } : {}),
  };
}

/** The samples shard `index` of `count` takes, as `icot eval run` assigns them. */
const shardIds = (index: number, count: number): string[] => selectSamples(splitIds, { shard: { index, count } }).selected.map((s) => s.id);

const thrown = (fn: () => unknown): EvalDataError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EvalDataError);
    return error as EvalDataError;
  }
  throw new Error('expected an error');
};

describe('parseResultLines', () => {
  it('finished and failed samples, insertions, fallbacks, usage and numeric timings', () => {
    const text = file([
      line('physics-1074', { insertions: [{ step: 1, selected: [0], selector: 'grounding', fallback: 'ads' }, { step: 5, selected: [3], selector: 'grounding' }], timings: { totalMs: 12, note: 'x' } }),
      JSON.stringify({ schemaVersion: 1, id: 'biology-439', error: { code: 'image-unreadable', message: 'no image', hint: 'put it there' } }),
      '',
      JSON.stringify({ schemaVersion: 1, id: 7, prediction: 'text', rougeL: 0.25, category: 'conv' }),
    ]);
    const lines = parseResultLines(text, 'r.jsonl');
    expect(lines.torn).toBeNull();
    expect(lines.samples).toHaveLength(2);
    expect(lines.samples[0]).toMatchObject({ id: 'physics-1074', correct: true, insertions: 2, fallbacks: 1, timings: { totalMs: 12 }, usage: { insertedTokens: 18 }, location: { file: 'r.jsonl', line: 1 } });
    expect(lines.samples[1]).toMatchObject({ id: '7', rougeL: 0.25, category: 'conv', insertions: 0, fallbacks: 0, location: { line: 4 } });
    expect(lines.failed).toEqual([{ id: 'biology-439', error: { code: 'image-unreadable', message: 'no image', hint: 'put it there' }, location: { file: 'r.jsonl', line: 2 } }]);
  });
  it('a last line cut short (no line end, or not JSON) is left out and named; a bad line before it is an error naming the line', () => {
    const whole = line('physics-1074');
    const torn = parseResultLines(`${whole}\n${whole.slice(0, 30)}`, 'r.jsonl');
    expect(torn.samples.map((s) => s.id)).toEqual(['physics-1074']);
    expect(torn.torn).toEqual({ file: 'r.jsonl', line: 2 });
    expect(parseResultLines(`${whole}\n${whole}`, 'r.jsonl').torn).toEqual({ file: 'r.jsonl', line: 2 }); // whole JSON, but its line end never written
    expect(parseResultLines(`${whole}\n${whole.slice(0, 30)}\n\n`, 'r.jsonl').torn).toEqual({ file: 'r.jsonl', line: 2 });
    const error = thrown(() => parseResultLines(`${whole.slice(0, 30)}\n${whole}\n`, 'r.jsonl'));
    expect(error.message).toMatch(/^r\.jsonl line 1 is not JSON .*not the last line/);
    expect(error.location).toEqual({ file: 'r.jsonl', line: 1 });
  });
  it('malformed lines name the file, line and id', () => {
    expect(thrown(() => parseResultLines('{"id": "a", "prediction": "x"}\n', 'r.jsonl')).message).toBe('r.jsonl line 1 (id \'a\') has neither "correct" (multiple choice) nor "rougeL" (LLaVA-W), nor "error".');
    expect(thrown(() => parseResultLines('{"id": "a", "correct": "yes"}\n', 'r.jsonl')).message).toMatch(/"correct" must be true or false/);
    expect(thrown(() => parseResultLines('{"id": "a", "rougeL": 1.5}\n', 'r.jsonl')).message).toMatch(/"rougeL" must be a number from 0 to 1/);
    expect(thrown(() => parseResultLines('{"correct": true}\n', 'r.jsonl')).message).toBe('r.jsonl line 1 has no "id".');
    expect(thrown(() => parseResultLines('{"id": "a", "error": "boom"}\n', 'r.jsonl')).message).toMatch(/"error" must be \{code, message, hint\}/);
    expect(thrown(() => parseResultLines('{"id": "a", "correct": true, "usage": {"promptTokens": "5"}}\n', 'r.jsonl')).message).toMatch(/"usage" must be/);
    expect(thrown(() => parseResultLines('{"id": "a", "correct": true, "insertions": 3}\n', 'r.jsonl')).message).toMatch(/"insertions" must be a list/);
  });
});

describe('parseRunFile', () => {
  it('reads the agreed fields and keeps the rest as written', () => {
    const run = parseRunFile(JSON.stringify({ ...RUN, shard: { index: 1, count: 3 }, limit: 10, ids: ['a', 2], data: '/data/m3cot' }), 'run-1-of-3.json');
    expect(run).toMatchObject({ dataset: 'm3cot', split: 'test', method: 'icot', shots: 0, shard: { index: 1, count: 3 }, limit: 10, ids: ['a', '2'], data: '/data/m3cot' });
  });
  it('bad fields are errors naming the file', () => {
    expect(thrown(() => parseRunFile(JSON.stringify({ ...RUN, dataset: 'mmlu' }), 'run.json')).message).toBe('run.json: "dataset" must be one of m3cot, scienceqa, llava-w, not "mmlu".');
    expect(thrown(() => parseRunFile(JSON.stringify({ ...RUN, shard: { index: 3, count: 3 } }), 'run.json')).message).toMatch(/"shard" must be \{index, count\} with 0 <= index < count/);
    expect(thrown(() => parseRunFile(JSON.stringify({ ...RUN, limit: 0 }), 'run.json')).message).toMatch(/"limit" must be a positive integer/);
    expect(thrown(() => parseRunFile('[1]', 'run.json')).message).toBe('run.json is not a JSON object.');
    expect(thrown(() => parseRunFile('{"dataset"', 'run.json')).message).toMatch(/^run\.json is not JSON/);
  });
});

describe('mergeShards + summarizeRun (multiple choice)', () => {
  const three = [0, 1, 2].map((i) => shard(i, 3, shardIds(i, 3)));

  it('three shards merge to the full split: the known totals by domain and topic, nothing missing', () => {
    expect(shardIds(0, 3)).toEqual([splitIds[0], splitIds[3], splitIds[6], splitIds[9]]);
    const merged = mergeShards(three);
    expect(merged.shardCount).toBe(3);
    expect(merged.shardsFound).toEqual([0, 1, 2]);
    const report = summarizeRun(merged, { split }) as MultipleChoiceRunReport;
    expect(report.kind).toBe('multiple-choice');
    expect([report.total, report.correct, report.accuracy]).toEqual([12, 7, 7 / 12]);
    expect(report.byDomain).toEqual({
      science: { total: 4, correct: 3, accuracy: 0.75 },
      commonsense: { total: 4, correct: 3, accuracy: 0.75 },
      mathematics: { total: 4, correct: 1, accuracy: 0.25 },
    });
    expect(Object.keys(report.byDomain)).toEqual(['science', 'commonsense', 'mathematics']); // M3CoT's sort_metric order
    expect(report.byTopic['science']).toEqual({ 'language-science': { total: 2, correct: 2, accuracy: 1 }, 'natural-science': { total: 2, correct: 1, accuracy: 0.5 } });
    expect(report.missing).toEqual([]);
    expect(report.expected).toBe(12);
    expect(report.usage).toEqual({ samples: 12, promptTokens: 1200, generatedTokens: 480, insertedTokens: 216, perSample: { promptTokens: 100, generatedTokens: 40, insertedTokens: 18 } });
    expect(report.insertions).toEqual({ total: 12, perSample: 1, samplesWithInsertions: 12, fallbacks: 0 });
    expect(report.timings).toEqual({ totalMs: 1000, modelMs: 900 });
    expect(report.warnings).toEqual([]);
  });

  it('a shard with no file: its samples are missing, in split order; a torn line and a failure are reported', () => {
    const shard1 = shardIds(1, 3);
    const torn = shard(0, 3, shardIds(0, 3).slice(0, 3), {}, '{"schemaVersion": 1, "id": "mathe');
    const failing: ShardInput = {
      ...three[2]!,
      results: {
        file: 'out/results-2-of-3.jsonl',
        lines: parseResultLines(file([...shardIds(2, 3).slice(1).map((id) => line(id)), JSON.stringify({ schemaVersion: 1, id: splitIds[2], error: { code: 'image-unreadable', message: 'bad image', hint: null } })]), 'out/results-2-of-3.jsonl'),
      },
    };
    const merged = mergeShards([torn, failing]);
    expect(merged.shardsAbsent).toEqual([1]);
    const report = summarizeRun(merged, { split });
    const lost = shardIds(0, 3)[3]!; // the torn line's sample
    expect(report.missing).toEqual(splitIds.filter((id) => shard1.includes(id) || id === lost));
    expect(report.failed).toEqual([{ id: splitIds[2], code: 'image-unreadable', message: 'bad image' }]);
    expect(report.total).toBe(12 - shard1.length - 2);
    expect(report.torn).toEqual([{ file: 'out/results-0-of-3.jsonl', line: 4 }]);
    expect(report.warnings).toContain('out/results-0-of-3.jsonl line 4 is cut short (an interrupted write) and is left out; resuming the run repairs it.');
  });

  it('a failure later finished counts as finished; a sample finished twice counts once', () => {
    const [a, b] = splitIds;
    const input: ShardInput = {
      shard: null,
      run: { file: 'out/run.json', value: parseRunFile(JSON.stringify({ ...RUN, shard: null }), 'out/run.json') },
      results: {
        file: 'out/results.jsonl',
        lines: parseResultLines(file([JSON.stringify({ id: a, error: { code: 'internal', message: 'x' } }), line(a!), line(b!), line(b!, { correct: !RIGHT.has(b!) })]), 'out/results.jsonl'),
      },
    };
    const merged = mergeShards([input]);
    expect(merged.failed).toEqual([]);
    expect(merged.duplicates).toBe(1);
    const report = summarizeRun(merged, { split }) as MultipleChoiceRunReport;
    expect([report.total, report.correct]).toEqual([2, 2]);
    expect(report.missing).toEqual(splitIds.slice(2));
    expect(report.skipped).toEqual({ outsideSplit: 0, duplicates: 1 });
  });

  it('limits and ids: each shard\'s own selection, assigned by split index', () => {
    const merged = mergeShards([shard(0, 2, [], { limit: 6 }), shard(1, 2, [], { limit: 6 })]);
    expect(expectedSampleIds(splitIds, merged)).toEqual(splitIds.slice(0, 6));
    const widened = mergeShards([shard(0, 2, [], { limit: 8 }), shard(1, 2, [], { limit: 6 })]);
    expect(expectedSampleIds(splitIds, widened)).toEqual([...splitIds.slice(0, 6), splitIds[6]]); // shard 0 took split indexes 0, 2, 4, 6
    expect(widened.warnings[0]).toMatch(/run different --limit \/ --ids/);
    // --ids 1, 4, 5 on 2 shards: shard 0 takes index 4, shard 1 indexes 1 and 5 (split index, not position in the selection)
    const picked = [splitIds[1]!, splitIds[4]!, splitIds[5]!];
    const byIds = mergeShards([shard(0, 2, [], { ids: picked })]);
    expect(summarizeRun(byIds, { split }).missing).toEqual(picked);
    expect(summarizeRun(byIds, { split }).shards.absent).toEqual([1]);
    expect(expectedSampleIds(splitIds, mergeShards([shard(0, 2, [], { ids: picked }), shard(1, 2, [], { ids: picked, limit: 1 })]))).toEqual([splitIds[1], splitIds[4]]);
    // without the split the run file's ids stand for it, unless --limit cut them
    expect(summarizeRun(mergeShards([shard(null, 1, [splitIds[4]!], { ids: [splitIds[4], splitIds[9]] })])).missing).toEqual([splitIds[9]]);
    expect(summarizeRun(mergeShards([shard(null, 1, [splitIds[4]!], { ids: [splitIds[4], splitIds[9]], limit: 1 })])).missing).toBeNull();
    expect(summarizeRun(mergeShards([shard(null, 1, [splitIds[0]!])])).missing).toBeNull(); // no split, no ids: unknown
  });

  it('labels from the split when a line has none; ids outside the split are skipped', () => {
    const input: ShardInput = {
      shard: null,
      run: { file: 'out/run.json', value: parseRunFile(JSON.stringify({ ...RUN, shard: null }), 'out/run.json') },
      results: { file: 'out/results.jsonl', lines: parseResultLines(file([JSON.stringify({ id: 'biology-439', correct: true }), JSON.stringify({ id: 'elsewhere-1', correct: true })]), 'out/results.jsonl') },
    };
    const report = summarizeRun(mergeShards([input]), { split }) as MultipleChoiceRunReport;
    expect(report.byTopic).toEqual({ science: { 'natural-science': { total: 1, correct: 1, accuracy: 1 } } });
    expect(report.skipped.outsideSplit).toBe(1);
    const without = summarizeRun(mergeShards([input])) as MultipleChoiceRunReport;
    expect(without.byDomain).toEqual({ unknown: { total: 2, correct: 2, accuracy: 1 } });
    expect(without.warnings.at(-1)).toMatch(/2 finished samples have no domain or topic; counted under 'unknown'/);
  });

  it('refuses folders that are not one run', () => {
    expect(thrown(() => mergeShards([])).message).toMatch(/holds no run file and no results/);
    expect(thrown(() => mergeShards([three[0]!, shard(null, 1, [])])).message).toMatch(/both an unsharded run .* and shards/);
    expect(thrown(() => mergeShards([three[0]!, shard(1, 4, [])])).message).toBe('The folder holds shards of different counts (of 3, of 4): each split the samples differently.');
    const other = thrown(() => mergeShards([three[0]!, shard(1, 3, [], { method: 'cot', description: { model: 'demo', selector: 'random', k: 4 } })]));
    expect(other.message).toBe('out/run-1-of-3.json and out/run-0-of-3.json describe different runs (description.selector, method differ): their results cannot be merged.');
    const orphan = thrown(() => mergeShards([{ shard: { index: 0, count: 3 }, results: three[0]!.results! }]));
    expect(orphan.message).toMatch(/^out\/results-0-of-3\.jsonl has no run file beside it \(shard 0 of 3\)/);
    const renamed = thrown(() => mergeShards([{ ...three[0]!, shard: { index: 2, count: 3 } }]));
    expect(renamed.message).toBe('out/run-0-of-3.json says it is shard 0 of 3, but its name says shard 2 of 3.');
    const versions = mergeShards([three[0]!, shard(1, 3, [], { versions: { '@icot/cli': '0.2.0' } })]);
    expect(versions.warnings).toEqual(['out/run-1-of-3.json was written by other icot versions than out/run-0-of-3.json.']);
  });
});

describe('summarizeRun (LLaVA-W)', () => {
  const dir = fixturePath('llava-bench');
  const bench = parseLlavaBench({ questions: readFileSync(`${dir}/questions.jsonl`, 'utf8'), answers: readFileSync(`${dir}/answers_gpt4.jsonl`, 'utf8') }).samples;
  const scores = [0.5, 0.25, 0.125, 0.3];
  const lines = bench.slice(0, 4).map((q, i) => JSON.stringify({ schemaVersion: 1, id: Number(q.id), prediction: 'x', rougeL: scores[i], category: q.category }));
  const input: ShardInput = {
    shard: null,
    run: { file: 'out/run.json', value: parseRunFile(JSON.stringify({ ...RUN, dataset: 'llava-w', split: null, shard: null }), 'out/run.json') },
    results: { file: 'out/results.jsonl', lines: parseResultLines(file(lines), 'out/results.jsonl') },
  };
  it('the mean ROUGE-L (numpy\'s mean) and per category in the questions file\'s order; the rest missing', () => {
    const report = summarizeRun(mergeShards([input]), { split: bench }) as RougeRunReport;
    expect(report.kind).toBe('rouge');
    expect(report.rougeL).toBe(numpyMean(scores));
    const categories = bench.slice(0, 4).map((q) => q.category);
    expect(Object.keys(report.byCategory)).toEqual([...new Set(bench.map((q) => q.category))].filter((c) => categories.includes(c)));
    for (const [category, tally] of Object.entries(report.byCategory)) expect(tally.rougeL).toBe(numpyMean(scores.filter((_, i) => categories[i] === category)));
    expect(report.missing).toEqual(bench.slice(4).map((q) => q.id));
  });
  it('a multiple-choice line in a LLaVA-W run is an error naming it', () => {
    const wrong: ShardInput = { ...input, results: { file: 'out/results.jsonl', lines: parseResultLines('{"id": 0, "correct": true}\n', 'out/results.jsonl') } };
    expect(thrown(() => summarizeRun(mergeShards([wrong]))).message).toBe('out/results.jsonl line 1 (id \'0\') has no "rougeL", but the run is on LLaVA-W.');
  });
});
