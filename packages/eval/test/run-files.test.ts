import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { diffConfigurations, parseShard, selectSamples, shardFileNames, shardFromEnvironment } from '../src/index.js';
import { EvalDataError } from '../src/errors.js';
import { ResultsFile, readJsonIfPresent, writeJsonAtomic } from '../src/node.js';

describe('shards', () => {
  it('--shard i/n: 0 <= i < n', () => {
    expect(parseShard('2/8')).toEqual({ index: 2, count: 8 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    for (const bad of ['8/8', '-1/4', '1/0', '1', 'a/b', '1/2/3', '1.5/4']) expect(() => parseShard(bad)).toThrow(OptionError);
  });

  it('Slurm arrays: TASK_ID - TASK_MIN of TASK_COUNT; stepped arrays are refused', () => {
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_COUNT: '8' })).toEqual({ index: 4, count: 8, source: 'slurm' });
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_STEP: '1' }, 3)).toEqual({ index: 0, count: 3, source: 'slurm' });
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_STEP: '2' })).toThrow(/not consecutive/);
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '5', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(/not consecutive/); // --array=1,3,5
    expect(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' }, 4)).toThrow(/does not match the Slurm array's 3 tasks/);
  });

  it('Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX of --shard-count', () => {
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }, 3)).toEqual({ index: 2, count: 3, source: 'indexed-job' });
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' })).toThrow(/number of shards is not given/);
    expect(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '3' }, 3)).toThrow(/not a shard of --shard-count 3/);
    expect(() => shardFromEnvironment({})).toThrow(/found no scheduler/);
  });

  const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

  it('assigns by index in the split, so --limit and --ids never move a sample to another shard', () => {
    const all = [0, 1, 2].map((index) => selectSamples(ids, { shard: { index, count: 3 } }).selected.map((s) => s.id));
    expect(all).toEqual([['a', 'd', 'g'], ['b', 'e'], ['c', 'f']]);
    expect(all.flat().sort()).toEqual(ids);
    expect(selectSamples(ids, { limit: 4, shard: { index: 0, count: 3 } }).selected.map((s) => s.id)).toEqual(['a', 'd']);
    expect(selectSamples(ids, { ids: ['g', 'b', 'd'], shard: { index: 0, count: 3 } }).selected.map((s) => s.id)).toEqual(['d', 'g']);
    expect(selectSamples(ids, { ids: ['g', 'b', 'd'], limit: 2 })).toEqual({ selected: [{ index: 1, id: 'b' }, { index: 3, id: 'd' }], inSelection: 2 });
    expect(() => selectSamples(ids, { ids: ['a', 'zz'] })).toThrow(/does not have: zz/);
  });

  it('file names per shard', () => {
    expect(shardFileNames(undefined)).toEqual({ results: 'results.jsonl', run: 'run.json' });
    expect(shardFileNames({ index: 1, count: 3 })).toEqual({ results: 'results-1-of-3.jsonl', run: 'run-1-of-3.json' });
  });
});

describe('diffConfigurations', () => {
  it('names every differing field by its path, skipping ignored ones', () => {
    const a = { method: 'icot', description: { k: 16, sampling: { seed: 0 }, model: { source: '/a' } }, files: [{ sha256: 'x' }, { sha256: 'y' }] };
    const b = { method: 'cot', description: { k: 16, sampling: { seed: 1, temperature: 0.7 }, model: { source: '/b' } }, files: [{ sha256: 'x' }, { sha256: 'z' }] };
    expect(diffConfigurations(a, b, ['description.model.source'])).toEqual([
      { path: 'description.sampling.seed', recorded: 0, requested: 1 },
      { path: 'description.sampling.temperature', recorded: undefined, requested: 0.7 },
      { path: 'files[1].sha256', recorded: 'y', requested: 'z' },
      { path: 'method', recorded: 'icot', requested: 'cot' },
    ]);
    expect(diffConfigurations(a, a)).toEqual([]);
    expect(diffConfigurations({ l: [1, 2] }, { l: [1, 2, 3] })).toEqual([{ path: 'l', recorded: [1, 2], requested: [1, 2, 3] }]);
  });
});

describe('ResultsFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icot-results-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('appends whole lines; reopening reads what is done and what failed', async () => {
    const path = join(dir, 'results.jsonl');
    const file = await ResultsFile.open(path);
    expect(file.state).toEqual({ done: new Map(), failed: new Map(), duplicates: 0, repaired: null });
    await file.append({ id: 'a', prediction: 'A', correct: true });
    await file.append({ id: 'b', error: { code: 'internal', message: 'boom', hint: null } });
    await file.close();
    const again = await ResultsFile.open(path);
    expect([...again.state.done.keys()]).toEqual(['a']);
    expect([...again.state.failed.keys()]).toEqual(['b']);
    await again.close();
  });

  it('cuts off a torn last line (a crash mid-write) and flushes the repair', async () => {
    const path = join(dir, 'torn.jsonl');
    await writeFile(path, '{"id":"a","prediction":"x","correct":false}\n{"id":"b","predic');
    const file = await ResultsFile.open(path);
    expect(file.state.repaired).toEqual({ line: 2, bytes: '{"id":"b","predic'.length });
    expect([...file.state.done.keys()]).toEqual(['a']);
    await file.append({ id: 'b', prediction: 'y', correct: true });
    await file.close();
    expect(await readFile(path, 'utf8')).toBe('{"id":"a","prediction":"x","correct":false}\n{"id":"b","prediction":"y","correct":true}\n');
  });

  it('a malformed line that is not the last is an error naming it', async () => {
    const path = join(dir, 'bad.jsonl');
    await writeFile(path, '{"id":"a"}\nnot json\n{"id":"b"}\n');
    await expect(ResultsFile.open(path)).rejects.toThrow(EvalDataError);
    await expect(ResultsFile.open(path)).rejects.toThrow(/line 2 is not JSON/);
  });

  it('dropFailed rewrites the file without the error lines of retried samples; a later success replaces an error', async () => {
    const path = join(dir, 'retry.jsonl');
    await writeFile(path, ['{"id":"a","error":{"code":"internal","message":"m"}}', '{"id":"b","prediction":"p","correct":true}', '{"id":"c","error":{"code":"internal","message":"m"}}', ''].join('\n'));
    const file = await ResultsFile.open(path);
    expect([...file.state.failed.keys()]).toEqual(['a', 'c']);
    await file.dropFailed(new Set(['a']));
    await file.append({ id: 'a', prediction: 'q', correct: false });
    await file.close();
    expect((await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['b', 'c', 'a']);
    await appendFile(path, '{"id":"a","prediction":"again","correct":true}\n');
    const reopened = await ResultsFile.open(path);
    expect(reopened.state.duplicates).toBe(1);
    expect(reopened.state.done.get('a')!['prediction']).toBe('q');
    await reopened.close();
  });

  it('run files are written atomically and read back', async () => {
    const path = join(dir, 'run.json');
    expect(await readJsonIfPresent(path)).toBeUndefined();
    await writeJsonAtomic(path, { schemaVersion: 1, dataset: 'm3cot' });
    expect(await readJsonIfPresent(path)).toEqual({ schemaVersion: 1, dataset: 'm3cot' });
  });
});
