/**
 * `icot eval sweep`: a grid of `icot eval run` configurations, each run in a child process into its
 * own folder (finished folders skipped, partial ones resumed), with the controls a reviewer asks
 * for, then the runs side by side.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AbortedError, IcotError, JSON_SCHEMA_VERSION, OptionError, type IcotErrorCode } from '@icot/core';
import { decideCell, EvalDataError, parseSweepSpec, planSweep, renderSweepHtml, renderSweepMarkdown, type CellDecision, type FlagValue, type SweepCell } from '@icot/eval';
import { isRunFolder, reportRunFolder } from '@icot/eval/node';
import type { CommandIo } from '../run.js';
import { writeSweepOutputs } from './report.js';
import { compareSweepFolder, readCellFlags, writeCellFile, writeSweepPlan } from './sweep-folder.js';

/** Help of `icot eval sweep`. */
export const SWEEP_HELP = `Usage: icot eval sweep <file> [--out <dir>] [--jobs <n>] [--dry-run] [--json | --markdown] [--paper]

Run a grid of \`icot eval run\` configurations (selector x k x decoder x trigger x method, or any
other run option) from a JSON or YAML file, each into its own folder of the sweep folder, and
compare them. The controls a reviewer asks for are added unless the grid has them: no insertion
(--max-insertions 0, one per combination of the non-strategy options) and the random selector at
the same k. Each run is an \`icot eval run\` child process; a finished folder is skipped, a partial
one resumed, so rerunning the same command picks up where it stopped. At the end the sweep
writes report.json, report.md and report.html (plots: accuracy vs k, per domain or category,
inserted tokens vs accuracy) into the sweep folder.

The file (docs/evaluation.md, Sweeps):
  name: ads-vs-random          # optional (default: the file's name)
  dataset: m3cot               # m3cot | scienceqa | llava-w
  data: data/m3cot             # relative to the file
  limit: 200                   # optional; also split, model
  options: {method: icot, shots: 0, max-new-tokens: 128}   # run options every cell gets
  grid:
    selector: [ads, random, {name: info-gain, options: {rounds: 2}}]
    k: [8, 16, 32]
  controls: true               # or false, or {noInsertion: true, random: false}

Options
  --out <dir>        the sweep folder (default: the file's "out", else the file's name beside it)
  --jobs <n>         runs at a time (default 1: one after the other)
  --dry-run          print the plan (folders, options, run / resume / skip) and run nothing
  --json             print the comparison (or, with --dry-run, the plan) as JSON
  --markdown         print the comparison as Markdown
  --paper            put the published numbers beside ours (ICoT Table 1, AIM-CoT)
  --help, -h         show this help

A run that fails stops the sweep (runs already going finish first) with its error; exit 2 for bad
input, 130 when cancelled.
`;

const SPEC = {
  out: { type: 'string' },
  jobs: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  paper: { type: 'boolean' },
} as const;

/** The `icot` entry point of this installation (`bin.ts` from sources, `bin.js` when built). */
const BIN = fileURLToPath(new URL(`../bin${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface PlannedCell {
  readonly cell: SweepCell;
  readonly dir: string;
  readonly decision: CellDecision;
  /** Samples with no line when the folder was looked at (null: not started). */
  readonly missing: number | null;
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Look at each cell's folder and decide what to do with it. */
async function planCells(out: string, cells: readonly SweepCell[], data: string): Promise<PlannedCell[]> {
  const planned: PlannedCell[] = [];
  for (const cell of cells) {
    const dir = join(out, cell.folder);
    const recorded = (await isFolder(dir)) ? await readCellFlags(dir) : null;
    const started = await isRunFolder(dir);
    let missing: number | null = null;
    if (started) {
      const { report } = await reportRunFolder(dir, { data });
      missing = report.missing?.length ?? null;
    }
    planned.push({ cell, dir, missing, decision: decideCell(cell, { recorded, started, complete: started && missing === 0 }) });
  }
  return planned;
}

function lastError(stdout: string): { code: string; message: string; hint: string | null } | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    try {
      const value = JSON.parse(line) as { error?: { code?: unknown; message?: unknown; hint?: unknown } };
      if (value.error && typeof value.error.code === 'string' && typeof value.error.message === 'string')
        return { code: value.error.code, message: value.error.message, hint: typeof value.error.hint === 'string' ? value.error.hint : null };
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** Run one cell as `icot eval run ... --out <dir> --json` in a child process. */
function runCell(planned: PlannedCell, io: CommandIo, prefixed: boolean, children: Set<ChildProcess>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const args = [...process.execArgv, BIN, 'eval', 'run', ...planned.cell.args, '--out', planned.dir, '--json'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (!prefixed) {
        io.stderr.write(chunk);
        return;
      }
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) io.stderr.write(`[${planned.cell.folder}] ${line}\n`);
    });
    child.on('error', (error) => {
      children.delete(child);
      reject(new IcotError('internal', `Could not start the run of ${planned.cell.folder}: ${error.message}.`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      if (prefixed && pending) io.stderr.write(`[${planned.cell.folder}] ${pending}\n`);
      if (code === 0) return resolvePromise();
      if (code === 130 || signal !== null) return reject(new AbortedError(`The run of ${planned.cell.folder} was cancelled${signal ? ` (${signal})` : ''}.`));
      const error = lastError(stdout);
      if (error) reject(new IcotError(error.code as IcotErrorCode, `The run of ${planned.cell.folder} failed: ${error.message}`, error.hint ? { hint: error.hint } : {}));
      else reject(new IcotError('internal', `The run of ${planned.cell.folder} exited with code ${code}.`, { hint: `Run it alone to see why: icot eval run ${planned.cell.args.join(' ')} --out ${planned.dir}` }));
    });
  });
}

function planText(planned: readonly PlannedCell[]): string {
  const rows = [['folder', 'role', 'action', 'why', 'options'], ...planned.map((p) => [p.cell.folder, p.cell.role, p.decision.action, p.decision.reason + (p.missing ? ` (${p.missing} missing)` : ''), p.cell.args.filter((a) => a !== '--data' && a !== p.cell.flags['data']).join(' ')])];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), 0));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

/** `icot eval sweep ...`. Returns the exit code; bad input throws typed errors (exit 2 in main). */
export async function sweepCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let parsed: { values: Partial<Record<keyof typeof SPEC, string | boolean>>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: SPEC, strict: true, allowPositionals: true });
  } catch (error) {
    throw new OptionError((error as Error).message.replace(/\. To specify.*$/s, '.'), { hint: "Run 'icot eval sweep --help' for the options." });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new OptionError(positionals.length ? `icot eval sweep takes one sweep file, got ${positionals.length}.` : 'icot eval sweep needs a sweep file (JSON or YAML).', { hint: 'E.g. icot eval sweep sweeps/ads-vs-random.yaml' });
  const file = positionals[0]!;
  const json = values.json === true;
  const markdown = values.markdown === true;
  if (json && markdown) throw new OptionError('--json and --markdown cannot be used together.', { hint: 'Pick one.' });
  const jobsText = typeof values.jobs === 'string' ? values.jobs : '1';
  const jobs = Number(jobsText);
  if (!Number.isInteger(jobs) || jobs < 1) throw new OptionError(`--jobs must be an integer >= 1, got '${jobsText}'.`, { hint: 'E.g. --jobs 2 to run two runs at a time.' });
  if (typeof values.out === 'string' && values.out.trim() === '') throw new OptionError('--out needs a value, got an empty string.', { hint: 'Pass the sweep folder, e.g. --out runs/sweep.' });

  let text: string;
  try {
    text = await readFile(resolve(file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EvalDataError(code === 'ENOENT' ? `The sweep file ${file} does not exist.` : code === 'EISDIR' ? `${file} is a folder; a sweep is a JSON or YAML file.` : `${file} cannot be read (${(error as Error).message}).`, {
      hint: 'Pass a sweep file (see docs/evaluation.md, Sweeps).',
      location: { file },
      cause: error,
    });
  }
  const spec = parseSweepSpec(text, file);
  const fileDir = dirname(resolve(file));
  const stem = basename(file).replace(/\.(ya?ml|json)$/i, '');
  const data = resolve(fileDir, spec.data);
  const model = spec.model === null ? null : existsSync(resolve(fileDir, spec.model)) ? resolve(fileDir, spec.model) : spec.model;
  const out = typeof values.out === 'string' ? resolve(values.out) : spec.out !== null ? resolve(fileDir, spec.out) : join(fileDir, stem);
  if (resolve(file) === out) throw new OptionError(`The sweep folder would be the sweep file itself (${file}).`, { hint: 'Pass --out <dir>.' });
  if (existsSync(out) && !(await isFolder(out))) throw new OptionError(`The sweep folder ${out} is a file.`, { hint: 'Give the sweep a folder: --out <dir>.' });
  if (await isRunFolder(out)) throw new OptionError(`${out} holds a run of icot eval run, not a sweep.`, { hint: 'Give the sweep its own folder: --out <dir>.' });
  const base: Record<string, FlagValue> = { dataset: spec.dataset, data, ...(spec.split !== null ? { split: spec.split } : {}), ...(spec.limit !== null ? { limit: spec.limit } : {}), ...(model !== null ? { model } : {}) };
  const plan = planSweep(spec, base, spec.name ?? stem);
  const planned = await planCells(out, plan.cells, data);

  if (values['dry-run'] === true) {
    if (json)
      io.stdout.write(
        `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, name: plan.name, dataset: plan.dataset, out, axes: plan.axes, cells: planned.map((p) => ({ folder: p.cell.folder, role: p.cell.role, axes: p.cell.axes, flags: p.cell.flags, args: p.cell.args, action: p.decision.action, reason: p.decision.reason, missing: p.missing })) })}\n`,
      );
    else io.stdout.write(`sweep ${plan.name}: ${planned.length} runs into ${out}\n\n${planText(planned)}`);
    return 0;
  }

  await mkdir(out, { recursive: true });
  await writeSweepPlan(out, { ...plan, file: resolve(file), data });
  const todo = planned.filter((p) => p.decision.action !== 'skip');
  io.stderr.write(`icot: sweep ${plan.name}: ${planned.length} runs into ${out} (${todo.length} to run, ${planned.length - todo.length} complete)\n`);
  const children = new Set<ChildProcess>();
  const stop = (): void => {
    for (const child of children) child.kill('SIGINT');
  };
  io.signal?.addEventListener('abort', stop, { once: true });
  let failure: unknown;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < todo.length && !io.signal?.aborted) {
      const item = todo[next++]!;
      io.stderr.write(`icot: [${planned.indexOf(item) + 1}/${planned.length}] ${item.cell.folder}: ${item.decision.action === 'resume' ? `resume (${item.missing ?? '?'} missing)` : 'run'}\n`);
      await mkdir(item.dir, { recursive: true });
      await writeCellFile(item.dir, item.cell);
      if (io.signal?.aborted) break; // cancelled while the folder was prepared: start no child
      try {
        await runCell(item, io, jobs > 1, children);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, todo.length)) }, worker));
  } finally {
    io.signal?.removeEventListener('abort', stop);
  }
  if (io.signal?.aborted) throw io.signal.reason instanceof Error ? io.signal.reason : new AbortedError('The sweep was cancelled.');
  if (failure !== undefined) throw failure;

  const paper = values.paper === true;
  const comparison = await compareSweepFolder(out, { paper });
  await writeFile(join(out, 'report.json'), `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...comparison }, null, 2)}\n`);
  await writeFile(join(out, 'report.md'), renderSweepMarkdown(comparison));
  await writeFile(join(out, 'report.html'), renderSweepHtml(comparison));
  io.stderr.write(`icot: sweep report written to ${join(out, 'report.html')} (and report.md, report.json; icot eval report ${out} --sweep to see it again)\n`);
  await writeSweepOutputs(io, out, comparison, { json, markdown });
  return 0;
}

