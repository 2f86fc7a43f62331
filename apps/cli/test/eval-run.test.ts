import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, copyFile, cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOT_FROM_SOURCES, type Finished } from './helpers/processes.js';
import { demoModel } from '@icot/demo-model';
import { writeTinyChameleon } from '@icot/testing/models';
import { main } from '../src/main.js';

// `icot eval run` on the tiny models over small folders in each dataset's published layout (the
// fixtures of @icot/eval, with the demo image as every sample's image): every method on every
// layout in-process (the model still runs in the runner's child process), and the crash, shard and
// configuration tests as real processes of the command.

const fixtures = fileURLToPath(new URL('../../../packages/eval/test/fixtures/', import.meta.url));

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write: (chunk, _encoding, callback) => (chunks.push(String(chunk)), callback()) }), text: () => chunks.join('') };
}

/** `icot eval run ...` in this process (its model in the runner's child process). */
async function evalRun(...args: string[]): Promise<Finished> {
  const out = sink();
  const err = sink();
  const code = await main(['eval', 'run', ...args], { stdout: out.stream, stderr: err.stream, interactive: false });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** `icot eval run ...` as its own process group (so a kill reaches the command as a scheduler's would). */
function spawnEvalRun(args: readonly string[], env: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<Finished> } {
  const child = spawn(ICOT_FROM_SOURCES[0]!, [...ICOT_FROM_SOURCES.slice(1), 'eval', 'run', ...args], { cwd: work, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { pid: child.pid!, done };
}

type Line = Record<string, unknown> & { id: string };
const lines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);

let work: string;
let m3cot: string;
let scienceqa: string;
let llava: string;
let chameleon: string;
let m3cotIds: string[];

async function placeImages(dir: string, relative: readonly string[]): Promise<void> {
  for (const path of relative) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await copyFile(demoModel.image, join(dir, path));
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'icot-eval-run-'));
  m3cot = join(work, 'm3cot');
  await cp(join(fixtures, 'm3cot-layout'), m3cot, { recursive: true });
  const records = (name: string) => readFileSync(join(m3cot, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
  m3cotIds = records('test.jsonl').map((r) => r.id);
  await placeImages(m3cot, [...m3cotIds, ...records('train.jsonl').map((r) => r.id)].map((id) => `images/${id}.png`));
  scienceqa = join(work, 'scienceqa');
  await cp(join(fixtures, 'scienceqa'), scienceqa, { recursive: true });
  const problems = JSON.parse(readFileSync(join(scienceqa, 'problems.json'), 'utf8')) as Record<string, { image: string | null; split: string }>;
  await placeImages(scienceqa, Object.entries(problems).filter(([, p]) => p.image).map(([pid, p]) => `images/${p.split}/${pid}/${p.image}`));
  llava = join(work, 'llava-bench');
  await cp(join(fixtures, 'llava-bench'), llava, { recursive: true });
  const llavaImages = new Set(readFileSync(join(llava, 'questions.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { image: string }).image));
  await placeImages(llava, [...llavaImages].map((name) => `images/${name}`));
  chameleon = join(work, 'tiny-chameleon');
  await writeTinyChameleon(chameleon);
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** The demo model inserts at every token it writes (so every ICoT answer has insertions). */
const everyToken = ['--signal-token-ids', Array.from({ length: 480 }, (_, i) => i).join(','), '--every', '1'];
const small = ['--max-new-tokens', '6', '--quiet'];

describe('icot eval run: every method on every layout (the demo model, a tiny Qwen2-VL)', () => {
  const cases: [string, () => string, string[]][] = [
    ['m3cot', () => m3cot, []],
    ['scienceqa', () => scienceqa, []],
    ['llava-w', () => llava, []],
  ];
  for (const [dataset, data] of cases)
    for (const method of ['no-cot', 'cot', 'ccot', 'ddcot', 'icot'])
      it(`${dataset} ${method}`, async () => {
        const out = join(work, 'matrix', `${dataset}-${method}`);
        const shots = method === 'icot' || method === 'cot' ? ['--shots', '1', ...(dataset === 'm3cot' ? [] : ['--demo-image', join(m3cot, 'images', 'physical-commonsense-1426.png')])] : [];
        const r = await evalRun('--dataset', dataset, '--data', data(), '--method', method, '--out', out, '--limit', '1', ...shots, ...small, ...everyToken, '--json');
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const summary = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(summary).toMatchObject({ dataset, method, selected: 1, finished: 1, ran: 1, failed: 0, pending: 0, cancelled: false });
        const [line] = lines(join(out, 'results.jsonl'));
        expect(Object.keys(line!).slice(0, 3)).toEqual(['schemaVersion', 'id', 'prediction']);
        expect(typeof line!['prediction']).toBe('string');
        if (dataset === 'llava-w') expect(line!['rougeL']).toBeTypeOf('number');
        else {
          expect(line!['correct']).toBeTypeOf('boolean');
          expect(line!['extracted']).toMatch(/^([A-Z]|FAILED)$/);
          expect(line!['domain']).toBeTypeOf('string');
        }
        const insertions = line!['insertions'] as { step: number; selected: number[]; selector: string; stage?: string }[];
        if (method === 'icot') {
          expect(insertions.length).toBe(3);
          expect(insertions[0]!.selected).toHaveLength(16);
          expect(insertions[0]!.selector).toBe('ads');
        } else expect(insertions).toEqual([]); // insertions are off for the other methods unless asked for
        const stages = line!['stages'] as { stage: string }[] | undefined;
        const expected = { 'no-cot': undefined, cot: undefined, icot: undefined, ccot: dataset === 'llava-w' ? ['first-answer', 'scene-graph', 'answer'] : ['scene-graph', 'answer'], ddcot: ['decompose', 'integrate'] }[method];
        if (expected) expect(stages!.map((s) => s.stage).filter((s) => !s.startsWith('sub-answer'))).toEqual(expected);
        else expect(stages).toBeUndefined();
        const timings = line!['timings'] as Record<string, number>;
        expect(timings['totalMs']).toBeGreaterThanOrEqual(timings['modelMs']!);
        const runFile = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
        expect(runFile).toMatchObject({ schemaVersion: 1, dataset, method, shots: shots.length ? 1 : 0, shard: null, limit: 1, ids: null });
        expect((runFile['modelFiles'] as { sha256: string }[]).every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
      });

  it('ccot with --max-insertions: insertions in the answer stage only, marked with it', async () => {
    const out = join(work, 'matrix', 'ccot-inserting');
    const r = await evalRun('--dataset', 'm3cot', '--data', m3cot, '--method', 'ccot', '--out', out, '--limit', '1', ...small, ...everyToken, '--max-insertions', '2');
    expect(r.code).toBe(0);
    const [line] = lines(join(out, 'results.jsonl'));
    expect((line!['insertions'] as { stage: string }[]).map((i) => i.stage)).toEqual(['answer', 'answer']);
  });

  it('a Chameleon-class model: chameleon prompts, the demonstration regions on its center-crop grid', async () => {
    const out = join(work, 'matrix', 'chameleon-icot');
    const r = await evalRun('--model', chameleon, '--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--shots', '1', '--out', out, '--limit', '2', ...small, '--signal', 'newline', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const evaluation = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { description: { evaluation: Record<string, unknown>; k?: number } }).description.evaluation;
    expect(evaluation['promptStyle']).toBe('chameleon');
    // the tiny Chameleon's 16 x 16 grid: run.py's 32 x 32 regions halved
    expect(evaluation['demonstrationRegions']).toEqual([
      { rows: [5, 10], cols: [0, 5] },
      { rows: [2, 4], cols: [11, 14] },
      { rows: [10, 15], cols: [0, 4] },
    ]);
    const [line] = lines(join(out, 'results.jsonl'));
    // Chameleon's official behaviour: an insertion right after the prompt
    expect((line!['insertions'] as { step: number }[])[0]!.step).toBe(-1);
  });

  it('bad input: exit 2 with the problem and the fix', async () => {
    const cases: [string[], RegExp][] = [
      [['--dataset', 'm3cot', '--data', m3cot, '--out', join(work, 'x')], /needs --method/],
      [['--dataset', 'm3cot', '--data', m3cot, '--method', 'magic', '--out', join(work, 'x')], /--method 'magic' is not supported/],
      [['--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--out', join(work, 'x'), '--image', demoModel.image], /--image is an icot run option/],
      [['--dataset', 'scienceqa', '--data', scienceqa, '--method', 'icot', '--shots', '1', '--out', join(work, 'x')], /--shots 1 on scienceqa needs the demonstration's image/],
      [['--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--out', join(work, 'x'), '--shard', '3/3'], /shard index must be from 0 to 2/],
      [['--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--out', join(work, 'x'), '--ids', 'nope'], /does not have: nope/],
      [['--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--out', join(work, 'x'), '--preset', 'official-gpt'], /not a preset/],
      [['--dataset', 'm3cot', '--data', join(work, 'nowhere'), '--method', 'icot', '--out', join(work, 'x')], /does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = await evalRun(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
    }
  });
});

describe('icot eval run as real processes: kill -9, shards, configurations', () => {
  const base = (out: string): string[] => ['--dataset', 'm3cot', '--data', m3cot, '--method', 'icot', '--out', out, '--max-new-tokens', '20', '--quiet'];
  let reference: Map<string, Line>;

  beforeAll(async () => {
    const out = join(work, 'reference');
    const r = await evalRun(...base(out), '--json');
    expect(r.code).toBe(0);
    reference = new Map(lines(join(out, 'results.jsonl')).map((l) => [l.id, l]));
    expect([...reference.keys()]).toEqual(m3cotIds);
  }, 120_000);

  /** The lines without what varies between runs (times). */
  const comparable = (line: Line): unknown => ({ ...line, timings: undefined });

  it('kill -9 in the middle, a torn last line, a rerun: every sample exactly once, as an uninterrupted run', async () => {
    const out = join(work, 'killed');
    const file = join(out, 'results.jsonl');
    const first = spawnEvalRun(base(out));
    // wait for a few finished samples, then kill the command's whole process group
    for (let waited = 0; ; waited += 10) {
      let count = 0;
      try {
        count = lines(file).length;
      } catch {
        // not written yet
      }
      if (count >= 3) break;
      if (waited > 60_000) throw new Error(`no results after 60 s: ${(await Promise.race([first.done, Promise.resolve(undefined)]))?.stderr ?? ''}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    process.kill(-first.pid, 'SIGKILL');
    const killed = await first.done;
    expect(killed.code).toBeNull();
    const before = lines(file);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(m3cotIds.length);
    // a write cut short by the crash
    await appendFile(file, '{"schemaVersion":1,"id":"mathematics-1295","predic');
    const second = spawnEvalRun(base(out));
    const resumed = await second.done;
    expect(resumed.code).toBe(0);
    const after = lines(file);
    expect(after.map((l) => l.id).sort()).toEqual([...m3cotIds].sort());
    expect(after.slice(0, before.length)).toEqual(before); // the lines before the kill are kept as they were
    for (const line of after) expect(comparable(line)).toEqual(comparable(reference.get(line.id)!));
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
  }, 120_000);

  it('three shards as separate processes (--shard, a Slurm array, an Indexed Job) merge to the whole split', async () => {
    const out = join(work, 'sharded');
    const runs = [
      spawnEvalRun([...base(out), '--shard', '0/3']),
      spawnEvalRun([...base(out), '--shard', 'auto'], { SLURM_ARRAY_TASK_ID: '8', SLURM_ARRAY_TASK_MIN: '7', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' }),
      spawnEvalRun([...base(out), '--shard', 'auto', '--shard-count', '3'], { JOB_COMPLETION_INDEX: '2' }),
    ];
    const finished = await Promise.all(runs.map((r) => r.done));
    for (const f of finished) expect(f.code, f.stderr).toBe(0);
    const names = (await readdir(out)).sort();
    expect(names).toEqual(['results-0-of-3.jsonl', 'results-1-of-3.jsonl', 'results-2-of-3.jsonl', 'run-0-of-3.json', 'run-1-of-3.json', 'run-2-of-3.json']);
    const shards = [0, 1, 2].map((i) => lines(join(out, `results-${i}-of-3.jsonl`)));
    shards.forEach((shard, i) => expect(shard.map((l) => l.id)).toEqual(m3cotIds.filter((_, index) => index % 3 === i)));
    const merged = shards.flat();
    expect(merged.map((l) => l.id).sort()).toEqual([...m3cotIds].sort());
    for (const line of merged) expect(comparable(line)).toEqual(comparable(reference.get(line.id)!));
    const runFile = JSON.parse(readFileSync(join(out, 'run-1-of-3.json'), 'utf8')) as Record<string, unknown>;
    expect(runFile['shard']).toEqual({ index: 1, count: 3 });
    // a fourth process with another shard count is refused
    const other = await evalRun(...base(out), '--shard', '0/4');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/a shard of 3, and this run is shard 0 of 4/);
  }, 120_000);

  it('a changed configuration is refused naming the fields; a wider --limit resumes', async () => {
    const out = join(work, 'configured');
    const first = await evalRun(...base(out), '--limit', '2');
    expect(first.code).toBe(0);
    const changed = await spawnEvalRun([...base(out).map((a) => (a === 'icot' ? 'cot' : a)), '--limit', '2', '--k', '8', '--seed', '3']).done;
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/run\.json records another configuration/);
    expect(changed.stderr).toMatch(/description\.k: \(none\) there, 8 now/);
    expect(changed.stderr).toMatch(/description\.sampling\.seed: 0 there, 3 now/);
    expect(changed.stderr).toMatch(/method: "icot" there, "cot" now/);
    expect(lines(join(out, 'results.jsonl')).map((l) => l.id)).toEqual(m3cotIds.slice(0, 2)); // nothing written
    const wider = await spawnEvalRun([...base(out), '--limit', '4', '--json']).done;
    expect(wider.code).toBe(0);
    expect(JSON.parse(wider.stdout)).toMatchObject({ selected: 4, finished: 4, ran: 2 });
    expect(lines(join(out, 'results.jsonl')).map((l) => l.id)).toEqual(m3cotIds.slice(0, 4));
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ limit: 4 });
  }, 120_000);
});
