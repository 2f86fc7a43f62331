import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOT_FROM_SOURCES, runProcess, type Finished } from './helpers/processes.js';

// `icot eval score` as real processes, on the published files committed as @icot/eval's fixtures
// (packages/eval/test/fixtures, see their PROVENANCE.md); relative paths from the folder it runs in.

const fixtures = fileURLToPath(new URL('../../../packages/eval/test/fixtures/', import.meta.url));

let work: string;
const icot = (...args: string[]): Promise<Finished> => runProcess([...ICOT_FROM_SOURCES, ...args], work);

const gunzip = (name: string): Buffer => gunzipSync(readFileSync(join(fixtures, 'm3cot', `${name}.jsonl.gz`)));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'icot-eval-cli-'));
  await mkdir(join(work, 'predictions'));
  for (const name of ['gemini-cot', 'llava-7b-cot', 'gemini-dsp']) await writeFile(join(work, 'predictions', `${name}.jsonl`), gunzip(name));
  await mkdir(join(work, 'm3cot'));
  await writeFile(join(work, 'm3cot', 'test.jsonl'), gunzip('test-split'));
  await cp(join(fixtures, 'scienceqa'), join(work, 'scienceqa'), { recursive: true });
  await cp(join(fixtures, 'llava-bench'), join(work, 'llava-bench'), { recursive: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('icot eval score --dataset m3cot', () => {
  it('published gemini/cot: 1100 of 2,318, the contract\'s fields, as M3CoT\'s Python gives', async () => {
    const r = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/gemini-cot.jsonl', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out).slice(0, 7)).toEqual(['schemaVersion', 'dataset', 'total', 'correct', 'accuracy', 'byDomain', 'byTopic']);
    expect(out).toMatchObject({ schemaVersion: 1, dataset: 'm3cot', total: 2318, correct: 1100, accuracy: 1100 / 2318 });
    expect((out['byDomain'] as Record<string, unknown>)['science']).toEqual({ total: 1622, correct: 759, accuracy: 759 / 1622 });
    expect((out['byTopic'] as Record<string, Record<string, unknown>>)['mathematics']!['theory']).toEqual({ total: 21, correct: 2, accuracy: 2 / 21 });
  });

  it('published llava-7b/cot: 829 of 2,318', async () => {
    const r = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/llava-7b-cot.jsonl', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 2318, correct: 829 });
  });

  it('--data: records matched to the test split by id (gemini/dsp\'s two records without choices take the dataset\'s)', async () => {
    const without = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/gemini-dsp.jsonl', '--json');
    expect(without.code).toBe(2);
    expect(JSON.parse(without.stdout)).toEqual({
      schemaVersion: 1,
      error: { code: 'invalid-data', message: expect.stringMatching(/^predictions\/gemini-dsp\.jsonl line \d+ \(id '[^']+'\) has no "choices", "answer"/), hint: expect.stringMatching(/--data DIR/) },
    });
    const r = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/gemini-dsp.jsonl', '--data', 'm3cot', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 2318, correct: 969, skipped: { outsideSplit: 0, duplicates: 0 } });
  });

  it('a table without --json', async () => {
    const r = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/gemini-cot.jsonl');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^M3CoT \(each record's own choices, answer, domain and topic\): 1100 of 2318 correct, accuracy 47\.45% \(judge_answer, m3cot copy\)$/m);
    expect(r.stdout).toMatch(/^domain +topic +correct +total +accuracy$/m);
    expect(r.stdout).toMatch(/^ +theory +2 +21 +9\.52%$/m);
    expect(r.stdout).toMatch(/^all +1100 +2318 +47\.45%$/m);
  });
});

describe('icot eval score --dataset scienceqa', () => {
  it('needs --data; scores the image subset of the test split by id', async () => {
    const missing = await icot('eval', 'score', '--dataset', 'scienceqa', '--predictions', 'p.jsonl', '--json');
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'invalid-option', message: '--dataset scienceqa needs --data <dir>.' });

    // answers: 5 -> B, 11 -> B, 23 -> B, 42 -> B, 62 -> D, 95 -> A (problems.json); 4 has no image
    const predictions = [
      { id: '5', prediction: 'The answer is (B).' },
      { id: '11', prediction: 'The answer is A.' },
      { id: '23', prediction: 'B' },
      { id: '62', prediction: '(D)' },
      { id: '4', prediction: '(B)' },
    ];
    await writeFile(join(work, 'sqa.jsonl'), predictions.map((p) => JSON.stringify(p)).join('\n'));
    const r = await icot('eval', 'score', '--dataset', 'scienceqa', '--data', 'scienceqa', '--predictions', 'sqa.jsonl', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { total: number; correct: number; byDomain: Record<string, unknown>; skipped: unknown };
    expect(out).toMatchObject({ dataset: 'scienceqa', total: 4, correct: 3, accuracy: 0.75, skipped: { outsideSplit: 1, duplicates: 0 } });
    expect(Object.keys(out.byDomain)).toEqual(['natural science', 'social science']);
    const all = await icot('eval', 'score', '--dataset', 'scienceqa', '--data', 'scienceqa', '--subset', 'all', '--predictions', 'sqa.jsonl', '--json');
    expect(JSON.parse(all.stdout)).toMatchObject({ total: 5, correct: 4 });
  });
});

describe('icot eval score --dataset llava-w', () => {
  it('Bard\'s published answers: ROUGE-L as pycocoevalcap computes it, per category', async () => {
    const reference = JSON.parse(readFileSync(join(fixtures, 'llava-bench', 'reference-bard.json'), 'utf8')) as Record<string, { total: number; rougeL: number }>;
    const r = await icot('eval', 'score', '--dataset', 'llava-w', '--data', 'llava-bench', '--predictions', 'llava-bench/bard_0718.jsonl', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out).slice(0, 5)).toEqual(['schemaVersion', 'dataset', 'total', 'rougeL', 'byCategory']);
    expect(out).toMatchObject({ schemaVersion: 1, dataset: 'llava-w', total: 60, rougeL: reference['all']!.rougeL, missing: [] });
    expect(out['byCategory']).toEqual({
      conv: { total: reference['conv']!.total, rougeL: reference['conv']!.rougeL },
      detail: { total: reference['detail']!.total, rougeL: reference['detail']!.rougeL },
      complex: { total: reference['complex']!.total, rougeL: reference['complex']!.rougeL },
    });
    const text = await icot('eval', 'score', '--dataset', 'llava-w', '--data', 'llava-bench', '--predictions', 'llava-bench/bard_0718.jsonl');
    expect(text.stdout).toMatch(/^LLaVA-Bench-in-the-Wild \(llava-bench\): ROUGE-L 16\.94 over 60 questions/m);
    expect(text.stdout).toMatch(/^conv +17 +14\.81$/m);
  });
});

describe('icot eval: help and bad input', () => {
  it('icot help eval and icot eval score --help', async () => {
    const help = await icot('help', 'eval');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: icot eval <subcommand>/);
    const score = await icot('eval', 'score', '--help');
    expect(score.stdout).toMatch(/^Usage: icot eval score --dataset <name>/);
    expect((await icot('help')).stdout).toMatch(/^ {2}eval {7}score predictions/m);
  });

  it('a missing file, a malformed record, a bad option: exit 2, the error document on stdout under --json', async () => {
    const noFile = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'nope.jsonl', '--json');
    expect(noFile.code).toBe(2);
    expect(JSON.parse(noFile.stdout)).toEqual({ schemaVersion: 1, error: { code: 'invalid-data', message: 'nope.jsonl does not exist.', hint: expect.any(String) } });

    await writeFile(join(work, 'bad.jsonl'), '{"id": "a", "messages": ["q", "(A)"], "choices": "A B", "answer": "A", "domain": "d", "topic": "t"}\n');
    const bad = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'bad.jsonl');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/error: bad\.jsonl line 1 \(id 'a'\): "choices" must be a list of strings\.\nhint: /);

    const option = await icot('eval', 'score', '--dataset', 'mmlu', '--predictions', 'bad.jsonl', '--json');
    expect(option.code).toBe(2);
    expect(JSON.parse(option.stdout).error).toEqual({ code: 'invalid-option', message: "--dataset 'mmlu' is not supported.", hint: 'Use one of: m3cot, scienceqa, llava-w.' });

    const noData = await icot('eval', 'score', '--dataset', 'm3cot', '--predictions', 'predictions/gemini-cot.jsonl', '--data', 'missing-folder', '--json');
    expect(JSON.parse(noData.stdout).error).toMatchObject({ code: 'invalid-data', message: 'The M3CoT folder missing-folder does not exist.' });
  });
});
