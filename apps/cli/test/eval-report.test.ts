import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOT_FROM_SOURCES, runProcess, type Finished } from './helpers/processes.js';
import { demoModel } from '@icot/demo-model';

// `icot eval report` and `icot eval sweep` as real processes, on run folders written here in the
// format `icot eval run` writes (result lines and one run file per shard), from the M3CoT and
// LLaVA-Bench fixtures of @icot/eval; relative paths from the folder the command runs in.

const fixtures = fileURLToPath(new URL('../../../packages/eval/test/fixtures/', import.meta.url));

let work: string;
const icot = (...args: string[]): Promise<Finished> => runProcess([...ICOT_FROM_SOURCES, ...args], work);

interface Sample {
  readonly id: string;
  readonly answer: string;
  readonly domain: string;
  readonly topic: string;
}
const split: Sample[] = readFileSync(join(fixtures, 'm3cot-layout', 'test.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Sample);
/** Right on 7 of the 12: commonsense 3, mathematics 1, science 3. */
const RIGHT = new Set(['physical-commonsense-1398', 'physical-commonsense-1342', 'physics-1074', 'mathematics-1358', 'figurative-language-72', 'figurative-language-3', 'biology-439']);

const runFile = (shard: { index: number; count: number } | null, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ schemaVersion: 1, dataset: 'm3cot', split: 'test', method: 'icot', shots: 0, preset: null, description: { model: 'demo', selector: 'ads', k: 4 }, versions: { '@icot/cli': '0.1.0' }, modelFiles: {}, shard, limit: null, ids: null, ...extra });
const resultLine = (s: Sample, inserted = 18): string =>
  JSON.stringify({
    schemaVersion: 1,
    id: s.id,
    prediction: `(${s.answer})`,
    extracted: RIGHT.has(s.id) ? s.answer : 'A',
    correct: RIGHT.has(s.id),
    domain: s.domain,
    topic: s.topic,
    insertions: inserted ? [{ step: 2, selected: [0, 1], selector: 'ads' }] : [],
    usage: { promptTokens: 90, generatedTokens: 30, insertedTokens: inserted },
    timings: { totalMs: 100 },
  });

/** Write a run folder of `count` shards (strided), leaving out the shards in `absent`. */
async function runFolder(dir: string, count: number | null, options: { absent?: number[]; right?: (s: Sample) => boolean; extra?: Record<string, unknown>; tail?: string; inserted?: number } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const shards = count === null ? [null] : Array.from({ length: count }, (_, index) => ({ index, count }));
  for (const shard of shards) {
    if (shard && options.absent?.includes(shard.index)) continue;
    const name = shard ? `-${shard.index}-of-${shard.count}` : '';
    const mine = split.filter((_, i) => !shard || i % shard.count === shard.index);
    await writeFile(join(dir, `run${name}.json`), runFile(shard, options.extra));
    await writeFile(join(dir, `results${name}.jsonl`), mine.map((s) => resultLine(s, options.inserted)).join('\n') + '\n' + (shard?.index === 0 && options.tail ? options.tail : ''));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'icot-eval-report-'));
  await cp(join(fixtures, 'm3cot-layout'), join(work, 'm3cot'), { recursive: true });
  await cp(join(fixtures, 'llava-bench'), join(work, 'llava-bench'), { recursive: true });
  // for runs on the demo model: the fixture's M3CoT records with the demo model's image as every sample's image
  await cp(join(fixtures, 'm3cot-layout'), join(work, 'm3cot-images'), { recursive: true });
  await mkdir(join(work, 'm3cot-images', 'images'));
  for (const s of split) await cp(demoModel.image, join(work, 'm3cot-images', 'images', `${s.id}.png`));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('icot eval report <out>', () => {
  it('three shards merge to the full split: the contract\'s fields, known totals, nothing missing', async () => {
    await runFolder(join(work, 'three'), 3);
    const r = await icot('eval', 'report', 'three', '--data', 'm3cot', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).slice(0, 8)).toEqual(['schemaVersion', 'dataset', 'total', 'correct', 'accuracy', 'missing', 'byDomain', 'byTopic']);
    expect(doc).toMatchObject({ schemaVersion: 1, dataset: 'm3cot', total: 12, correct: 7, accuracy: 7 / 12, missing: [], expected: 12, shards: { count: 3, found: [0, 1, 2], absent: [] } });
    expect(doc.byDomain).toEqual({ science: { total: 4, correct: 3, accuracy: 0.75 }, commonsense: { total: 4, correct: 3, accuracy: 0.75 }, mathematics: { total: 4, correct: 1, accuracy: 0.25 } });
    expect(doc.usage.perSample).toEqual({ promptTokens: 90, generatedTokens: 30, insertedTokens: 18 });
  });

  it('a shard not run and a torn last line: their samples are listed as missing, in split order', async () => {
    await runFolder(join(work, 'partial'), 3, { absent: [1], tail: '{"schemaVersion": 1, "id": "phys' });
    const r = await icot('eval', 'report', 'partial', '--data', 'm3cot', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.missing).toEqual(split.filter((_, i) => i % 3 === 1).map((s) => s.id));
    expect(doc.total).toBe(8);
    expect(doc.torn).toEqual([{ file: join('partial', 'results-0-of-3.jsonl'), line: 5 }]);
    const text = await icot('eval', 'report', 'partial', '--data', 'm3cot');
    expect(text.stdout).toMatch(/^partial: accuracy .*; 4 missing of 12, 2 of 3 shards\n/);
    expect(text.stdout).toContain('warning: partial/results-0-of-3.jsonl line 5 is cut short');
  });

  it('the data folder named in the run file; --markdown; --html writes a self-contained page', async () => {
    await runFolder(join(work, 'named'), null, { extra: { data: join(work, 'm3cot') } });
    const md = await icot('eval', 'report', 'named', '--markdown', '--html', 'named.html', '--paper');
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('| all |  | 7 | 12 | 58.33 |');
    expect(md.stdout).toContain('| ICoT (Gao et al., CVPR 2025) | Qwen2-VL-7B | ICoT | 0 | 44.1 | arXiv:2411.19488, Table 1 |');
    expect(md.stderr).toBe('icot: report written to named.html\n');
    const html = await readFile(join(work, 'named.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg ');
    expect(html).not.toMatch(/<script|src=|<link/);
  });

  it('LLaVA-W: ROUGE-L, by category, the unanswered questions missing', async () => {
    const questions = readFileSync(join(fixtures, 'llava-bench', 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { question_id: number; category: string });
    await mkdir(join(work, 'llava'));
    await writeFile(join(work, 'llava', 'run.json'), runFile(null, { dataset: 'llava-w', split: null }));
    await writeFile(join(work, 'llava', 'results.jsonl'), questions.slice(0, 3).map((q, i) => JSON.stringify({ schemaVersion: 1, id: q.question_id, prediction: 'x', rougeL: [0.5, 0.25, 0.125][i], category: q.category })).join('\n') + '\n');
    const r = await icot('eval', 'report', 'llava', '--data', 'llava-bench', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).slice(0, 6)).toEqual(['schemaVersion', 'dataset', 'total', 'rougeL', 'byCategory', 'missing']);
    expect(doc.rougeL).toBeCloseTo((0.5 + 0.25 + 0.125) / 3, 15);
    expect(doc.byCategory).toEqual(Object.fromEntries(questions.slice(0, 3).map((q, i) => [q.category, { total: 1, rougeL: [0.5, 0.25, 0.125][i] }])));
    expect(doc.missing).toEqual(questions.slice(3).map((q) => String(q.question_id)));
  });

  it('bad input: exit 2 with the JSON error document on stdout', async () => {
    await runFolder(join(work, 'mixed'), 3);
    await writeFile(join(work, 'mixed', 'run-1-of-3.json'), runFile({ index: 1, count: 3 }, { method: 'cot' }));
    const mixed = await icot('eval', 'report', 'mixed', '--data', 'm3cot', '--json');
    expect(mixed.code).toBe(2);
    expect(JSON.parse(mixed.stdout)).toEqual({
      schemaVersion: 1,
      error: { code: 'invalid-data', message: `${join('mixed', 'run-1-of-3.json')} and ${join('mixed', 'run-0-of-3.json')} describe different runs (method differs): their results cannot be merged.`, hint: expect.stringMatching(/same dataset, method, model and options/) },
    });
    await runFolder(join(work, 'counts'), 3);
    await writeFile(join(work, 'counts', 'run-0-of-2.json'), runFile({ index: 0, count: 2 }));
    expect(JSON.parse((await icot('eval', 'report', 'counts', '--json')).stdout).error.message).toBe('The folder holds shards of different counts (of 2, of 3): each split the samples differently.');
    const noData = await icot('eval', 'report', 'three', '--json');
    expect(noData.code).toBe(2);
    expect(JSON.parse(noData.stdout).error).toMatchObject({ code: 'invalid-option', hint: 'Pass the dataset folder the run read: --data <dir>.' });
    const nothing = await icot('eval', 'report', 'no-such-folder');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/error: The run folder no-such-folder does not exist\.\nhint: Pass the folder given to `icot eval run --out`\./);
    const both = await icot('eval', 'report', 'three', '--json', '--markdown');
    expect(both.code).toBe(2);
    expect(JSON.parse(both.stdout).error.message).toBe('--json and --markdown cannot be used together.');
  });

  it('help', async () => {
    expect((await icot('eval', 'report', '--help')).stdout).toMatch(/^Usage: icot eval report <out>/);
    expect((await icot('eval', 'sweep', '--help')).stdout).toMatch(/^Usage: icot eval sweep <file>/);
    expect((await icot('help', 'eval')).stdout).toContain('icot eval sweep <file>');
  });
});

const SWEEP = `name: demo
dataset: m3cot
data: m3cot
options:
  method: icot
  max-new-tokens: 8
grid:
  selector: [ads]
  k: [4, 8]
`;

describe('icot eval sweep <file> and icot eval report --sweep', () => {
  it('--dry-run: the grid, the controls and what to do with each folder (run, resume, skip, refuse)', async () => {
    await writeFile(join(work, 'demo.yaml'), SWEEP);
    const fresh = await icot('eval', 'sweep', 'demo.yaml', '--dry-run', '--json');
    expect(fresh.code).toBe(0);
    const plan = JSON.parse(fresh.stdout);
    expect(plan.out).toBe(join(work, 'demo'));
    expect(plan.cells.map((c: { folder: string; action: string }) => [c.folder, c.action])).toEqual([
      ['selector-ads_k-4', 'run'],
      ['selector-ads_k-8', 'run'],
      ['no-insertion', 'run'],
      ['selector-random_k-4', 'run'],
      ['selector-random_k-8', 'run'],
    ]);
    expect(plan.cells[0].args).toEqual(['--dataset', 'm3cot', '--data', join(work, 'm3cot'), '--method', 'icot', '--max-new-tokens', '8', '--selector', 'ads', '--k', '4']);
    expect(existsSync(join(work, 'demo'))).toBe(false); // a dry run writes nothing

    // one run finished, one partial, as the sweep would have left them
    for (const [folder, partial] of [['selector-ads_k-4', false], ['no-insertion', true]] as const) {
      const cell = plan.cells.find((c: { folder: string }) => c.folder === folder);
      await runFolder(join(work, 'demo', folder), partial ? 3 : null, partial ? { absent: [2] } : {});
      await writeFile(join(work, 'demo', folder, 'cell.json'), JSON.stringify({ schemaVersion: 1, folder, flags: cell.flags }));
    }
    const again = JSON.parse((await icot('eval', 'sweep', 'demo.yaml', '--dry-run', '--json')).stdout);
    expect(again.cells.map((c: { folder: string; action: string; missing: number | null }) => [c.folder, c.action, c.missing])).toEqual([
      ['selector-ads_k-4', 'skip', 0],
      ['selector-ads_k-8', 'run', null],
      ['no-insertion', 'resume', 4],
      ['selector-random_k-4', 'run', null],
      ['selector-random_k-8', 'run', null],
    ]);

    // the file changed under a folder that already ran: refused
    await writeFile(join(work, 'demo.yaml'), SWEEP.replace('max-new-tokens: 8', 'max-new-tokens: 16'));
    const changed = await icot('eval', 'sweep', 'demo.yaml', '--dry-run', '--json');
    expect(changed.code).toBe(2);
    expect(JSON.parse(changed.stdout).error.message).toBe('The folder selector-ads_k-4 holds a run of other options (--max-new-tokens differs).');
    await writeFile(join(work, 'demo.yaml'), SWEEP);
  });

  it('report --sweep: every run beside its controls; the HTML page has the three plots', async () => {
    // the sweep's plan, as `icot eval sweep` writes it, and the runs of the grid and its controls
    await writeFile(join(work, 'cmp.yaml'), SWEEP);
    const plan = JSON.parse((await icot('eval', 'sweep', 'cmp.yaml', '--dry-run', '--json')).stdout);
    await mkdir(join(work, 'cmp'), { recursive: true });
    await writeFile(join(work, 'cmp', 'sweep.json'), JSON.stringify({ schemaVersion: 1, name: 'demo', dataset: 'm3cot', axes: plan.axes, file: join(work, 'cmp.yaml'), data: join(work, 'm3cot'), cells: plan.cells }));
    const right: Record<string, number> = { 'selector-ads_k-4': 9, 'selector-ads_k-8': 10, 'no-insertion': 6, 'selector-random_k-4': 7 };
    for (const [folder, n] of Object.entries(right)) {
      await mkdir(join(work, 'cmp', folder));
      await writeFile(join(work, 'cmp', folder, 'run.json'), runFile(null));
      await writeFile(join(work, 'cmp', folder, 'results.jsonl'), split.map((s, i) => JSON.stringify({ id: s.id, correct: i < n, domain: s.domain, topic: s.topic, usage: { promptTokens: 1, generatedTokens: 1, insertedTokens: folder === 'no-insertion' ? 0 : Number(folder.slice(-1)) * 6 } })).join('\n') + '\n');
    }
    const r = await icot('eval', 'report', 'cmp', '--json', '--html', 'cmp.html', '--paper');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schemaVersion: 1, name: 'demo', dataset: 'm3cot', metric: 'accuracy', groupBy: 'domain', axes: ['selector', 'k'] });
    const rows = new Map(doc.rows.map((row: { folder: string }) => [row.folder, row]));
    expect(rows.get('selector-ads_k-4')).toMatchObject({ status: 'complete', score: 9 / 12, vsNoInsertion: { folder: 'no-insertion', delta: 9 / 12 - 6 / 12 }, vsRandom: { folder: 'selector-random_k-4', delta: 9 / 12 - 7 / 12 } });
    expect(rows.get('selector-random_k-8')).toMatchObject({ status: 'not-run', score: null });
    expect(doc.paper.length).toBe(10);
    const html = await readFile(join(work, 'cmp.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).not.toMatch(/<script|src=|<link/);
    const md = await icot('eval', 'report', 'cmp', '--sweep', '--markdown');
    expect(md.stdout).toContain('| selector-ads_k-4 | grid | ads | 4 | 75.00 | +25.00 | +16.67 | 12 | 0 |');
  });

  it('a run that fails stops the sweep with its error (exit 2, the run\'s error on stdout under --json)', async () => {
    await writeFile(join(work, 'broken.yaml'), 'dataset: m3cot\ndata: m3cot\nmodel: no-such-model-folder/\nlimit: 1\noptions: {method: icot}\ncontrols: false\n');
    const r = await icot('eval', 'sweep', 'broken.yaml', '--json');
    expect(r.code).toBe(2);
    const error = JSON.parse(r.stdout.trim().split('\n').at(-1)!).error;
    expect(error.message).toMatch(/^The run of run failed: /);
    expect(r.stderr).toMatch(/icot: sweep broken: 1 runs into .*broken \(1 to run, 0 complete\)\nicot: \[1\/1\] run: run\n/);
    expect(existsSync(join(work, 'broken', 'sweep.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(work, 'broken', 'run', 'cell.json'), 'utf8')).flags).toMatchObject({ dataset: 'm3cot', limit: 1, model: 'no-such-model-folder/' });
  }, 60_000);

  it('end to end on the demo model: the grid and its controls run as icot eval run processes (3 at a time), then compared; a second run skips them', async () => {
    await writeFile(join(work, 'tiny.yaml'), 'dataset: m3cot\ndata: m3cot-images\nlimit: 2\noptions: {method: icot, max-new-tokens: 24}\ngrid:\n  k: [4]\n');
    const r = await icot('eval', 'sweep', 'tiny.yaml', '--json', '--jobs', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\[selector-random_k-4\] icot: m3cot\/test, icot: 2 samples/m); // side by side: each run's lines named
    const doc = JSON.parse(r.stdout);
    expect(doc.rows.map((row: { folder: string; role: string; status: string; total: number }) => [row.folder, row.role, row.status, row.total])).toEqual([
      ['k-4', 'grid', 'complete', 2],
      ['no-insertion', 'no-insertion', 'complete', 2],
      ['selector-random_k-4', 'random', 'complete', 2],
    ]);
    const [ads, none, random] = doc.rows;
    expect(none.insertionsPerSample).toBe(0);
    expect(ads.insertionsPerSample).toBeGreaterThan(0); // the demo model inserts within 24 tokens
    expect(random.insertionsPerSample).toBeGreaterThan(0);
    expect(ads.vsNoInsertion.folder).toBe('no-insertion');
    expect(ads.vsRandom.folder).toBe('selector-random_k-4');
    const run = JSON.parse(readFileSync(join(work, 'tiny', 'no-insertion', 'run.json'), 'utf8'));
    expect(run.description.maxInsertions).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'tiny', 'selector-random_k-4', 'run.json'), 'utf8')).description.selector.name).toBe('random');
    expect(readFileSync(join(work, 'tiny', 'report.html'), 'utf8').match(/<svg /g)).toHaveLength(3);
    const again = await icot('eval', 'sweep', 'tiny.yaml');
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^icot: sweep tiny: 3 runs into .*tiny \(0 to run, 3 complete\)\n/);
  }, 120_000);

  it('Ctrl-C stops the sweep and its running child (exit 130); the next run\'s plan skips what finished and runs the rest', async () => {
    await writeFile(join(work, 'stop.yaml'), 'dataset: m3cot\ndata: m3cot-images\noptions: {method: icot, max-new-tokens: 24}\ngrid:\n  k: [4]\n'); // all 12 samples: the second run is still going when stopped
    const child = spawn(ICOT_FROM_SOURCES[0]!, [...ICOT_FROM_SOURCES.slice(1), 'eval', 'sweep', 'stop.yaml'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        if (stderr.includes('icot: [2/3] no-insertion: run') && !child.killed) child.kill('SIGINT'); // the first run done, the second started
      });
      child.on('close', resolve);
    });
    expect(code, stderr).toBe(130);
    const plan = JSON.parse((await icot('eval', 'sweep', 'stop.yaml', '--dry-run', '--json')).stdout);
    expect(plan.cells.map((c: { folder: string; action: string }) => [c.folder, c.action])).toEqual([
      ['k-4', 'skip'],
      ['no-insertion', expect.stringMatching(/^(run|resume)$/)], // stopped before or after its run file was written
      ['selector-random_k-4', 'run'],
    ]);
  }, 120_000);
});
