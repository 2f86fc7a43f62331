/**
 * Reading `icot eval run` output folders from disk (Node.js): their shards merged into a report.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EvalDataError } from './errors.js';
import { loadLlavaBench, loadM3CoT, loadScienceQA } from './node.js';
import { mergeShards, summarizeRun, type MergedRun, type RunReport, type ShardInput, type SplitSample } from './report.js';
import { parseResultLines, parseRunFile, type RunFile, type ShardInfo } from './results.js';
import type { ScienceQaSubset } from './datasets.js';

/** `results.jsonl` or `results-<i>-of-<n>.jsonl`. */
const RESULTS_NAME = /^results(?:-(\d+)-of-(\d+))?\.jsonl$/;
/** `run.json` or `run-<i>-of-<n>.json`. */
const RUN_NAME = /^run(?:-(\d+)-of-(\d+))?\.json$/;

function shardOf(match: RegExpExecArray, file: string): ShardInfo | null {
  if (match[1] === undefined) return null;
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index >= count) throw new EvalDataError(`${file}: shard ${index} of ${count} does not exist (shards are 0 to ${count - 1}).`, { hint: 'Do not rename the files a run writes.', location: { file } });
  return { index, count };
}

/** Whether a folder holds the files of a run (a run file or a results file). */
export async function isRunFolder(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).some((name) => RESULTS_NAME.test(name) || RUN_NAME.test(name));
  } catch {
    return false;
  }
}

/**
 * Read the run files and results files of an `icot eval run` output folder, grouped by shard
 * (`run.json` + `results.jsonl`, or `run-<i>-of-<n>.json` + `results-<i>-of-<n>.jsonl`). Files are
 * named in errors as `dir` joined with their name.
 */
export async function readRunFolder(dir: string): Promise<ShardInput[]> {
  let names: string[];
  try {
    const s = await stat(resolve(dir));
    if (!s.isDirectory()) throw new EvalDataError(`${dir} is a file; a run's output is a folder.`, { hint: 'Pass the folder given to `icot eval run --out`.', location: { file: dir } });
    names = (await readdir(resolve(dir))).sort();
  } catch (error) {
    if (error instanceof EvalDataError) throw error;
    throw new EvalDataError(`The run folder ${dir} does not exist.`, { hint: 'Pass the folder given to `icot eval run --out`.', location: { file: dir }, cause: error });
  }
  const byShard = new Map<string, { shard: ShardInfo | null; run?: ShardInput['run']; results?: ShardInput['results'] }>();
  const entry = (shard: ShardInfo | null): { shard: ShardInfo | null; run?: ShardInput['run']; results?: ShardInput['results'] } => {
    const key = shard ? `${shard.index}/${shard.count}` : '-';
    let found = byShard.get(key);
    if (!found) byShard.set(key, (found = { shard }));
    return found;
  };
  for (const name of names) {
    const file = join(dir, name);
    const results = RESULTS_NAME.exec(name);
    const run = RUN_NAME.exec(name);
    if (results) entry(shardOf(results, file)).results = { file, lines: parseResultLines(await readFile(resolve(file), 'utf8'), file) };
    else if (run) entry(shardOf(run, file)).run = { file, value: parseRunFile(await readFile(resolve(file), 'utf8'), file) };
  }
  return [...byShard.values()];
}

/** The samples of the split a run read, from the dataset folder (images are not checked). */
export async function loadSplitSamples(run: RunFile, data: string): Promise<readonly SplitSample[]> {
  if (run.dataset === 'llava-w') return (await loadLlavaBench(data, { checkImages: false })).samples;
  const split = run.split ?? 'test';
  if (run.dataset === 'm3cot') return (await loadM3CoT(data, { checkImages: false, split })).samples;
  const subset = run.subset === 'all' || run.subset === 'image' ? (run.subset as ScienceQaSubset) : undefined;
  return (await loadScienceQA(data, { checkImages: false, split, ...(subset ? { subset } : {}) })).samples;
}

/** Options of {@link reportRunFolder}. */
export interface RunFolderReportOptions {
  /**
   * The dataset folder the run read (for the missing samples and labels); default: the run file's
   * `data` when it names a folder that exists.
   */
  readonly data?: string;
}

/** A run folder's report and what it was made from. */
export interface RunFolderReport {
  readonly merged: MergedRun;
  readonly report: RunReport;
  /** The dataset folder the split came from, or null. */
  readonly data: string | null;
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Merge a run folder's shards ({@link mergeShards}) and report on them ({@link summarizeRun}), with
 * the split from `options.data`, else from the folder the run file names, else from the run
 * file's `ids`; without any of them `missing` is null.
 */
export async function reportRunFolder(dir: string, options: RunFolderReportOptions = {}): Promise<RunFolderReport> {
  const merged = mergeShards(await readRunFolder(dir));
  const recorded = merged.run.data !== null && (await isFolder(resolve(merged.run.data))) ? merged.run.data : null;
  const data = options.data ?? recorded;
  const split = data === null ? undefined : await loadSplitSamples(merged.run, data);
  return { merged, report: summarizeRun(merged, split ? { split } : {}), data };
}
