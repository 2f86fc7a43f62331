/**
 * Merging the shards of an `icot eval run` output folder and summing them up: which samples are
 * done, which are missing, accuracy (or ROUGE-L) overall and by domain, topic or category, and
 * what the insertions cost.
 * @module
 */
import type { DatasetName } from './datasets.js';
import { EvalDataError } from './errors.js';
import type { FailedSample, ResultLines, RunFile, SampleResult, ShardInfo } from './results.js';
import { numpyMean } from './rouge.js';
import { diffConfigurations } from './run-config.js';
import { selectSamples } from './shard.js';
import { byCodePoint, orderDomains, type RougeTally, type Tally } from './score.js';

/** The files of one process of a run: its run file and its results, as found in the folder. */
export interface ShardInput {
  /** The shard its file names say (`run-<i>-of-<n>.json`), or null for `run.json` / `results.jsonl`. */
  readonly shard: ShardInfo | null;
  readonly run?: { readonly file: string; readonly value: RunFile };
  readonly results?: { readonly file: string; readonly lines: ResultLines };
}

/** The shards of a run folder merged into one set of samples. */
export interface MergedRun {
  /** The configuration every shard shares (the first run file's). */
  readonly run: RunFile;
  /** Each shard's run file by shard index (index 0 for an unsharded run). */
  readonly runs: ReadonlyMap<number, RunFile>;
  /** The shard count, or null for an unsharded run. */
  readonly shardCount: number | null;
  /** Shard indexes with a run file. */
  readonly shardsFound: readonly number[];
  /** Shard indexes (of `shardCount`) with no file at all: all their samples are missing. */
  readonly shardsAbsent: readonly number[];
  /** The finished samples: the first finished line of each id, in file order. */
  readonly samples: readonly SampleResult[];
  /** Samples with only failed lines (the last error of each), never finished. */
  readonly failed: readonly FailedSample[];
  /** Finished lines of an id that was already finished (in another shard or earlier in the file). */
  readonly duplicates: number;
  /** Last lines cut short, left out. */
  readonly torn: readonly { readonly file: string; readonly line: number }[];
  /** Things to say about the merge that do not stop it. */
  readonly warnings: readonly string[];
}

/** What every shard of a run must share: what decides a sample's line. */
const CONFIGURATION_FIELDS = ['dataset', 'split', 'subset', 'method', 'shots', 'preset', 'description', 'modelFiles', 'dataFiles'] as const;
/**
 * Fields that may differ between the shards of one run, as `icot eval run` has them: where the
 * model is on each machine and how it is run there (the model files' hashes say which model it is).
 */
const MACHINE_FIELDS = ['description.model.source', 'description.model.cacheDir', 'description.model.threads', 'description.model.offline'];

/** JSON with object keys sorted, so that two equal configurations have equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

const shardName = (shard: ShardInfo | null): string => (shard ? `shard ${shard.index} of ${shard.count}` : 'the unsharded run');

/**
 * Merge the shards of one run folder. They must be all unsharded (`run.json`) or all of one shard
 * count, every results file needs its run file, a run file's `shard` must match its name, and every
 * run file must describe the same configuration (dataset, split, subset, method, shots, preset,
 * description, model and data files' hashes; where each machine keeps the model and how many
 * threads it runs may differ; different icot package versions or `limit` / `ids` are only
 * warnings). Each
 * id counts once: its first finished line; ids that only failed are listed in `failed`.
 */
export function mergeShards(inputs: readonly ShardInput[]): MergedRun {
  if (inputs.length === 0)
    throw new EvalDataError('The folder holds no run file and no results (run.json, results.jsonl, or run-<i>-of-<n>.json and results-<i>-of-<n>.jsonl).', {
      hint: 'Pass the folder given to `icot eval run --out`.',
    });
  const sharded = inputs.filter((s) => s.shard !== null);
  if (sharded.length > 0 && sharded.length < inputs.length)
    throw new EvalDataError('The folder holds both an unsharded run (run.json / results.jsonl) and shards (run-<i>-of-<n>.json): they are two runs.', {
      hint: 'Keep one run per folder: move the unsharded files or the shards to another folder.',
    });
  const counts = [...new Set(sharded.map((s) => s.shard!.count))];
  if (counts.length > 1)
    throw new EvalDataError(`The folder holds shards of different counts (${counts.sort((a, b) => a - b).map((n) => `of ${n}`).join(', ')}): each split the samples differently.`, {
      hint: 'Keep the shards of one --shard i/n count in a folder; a run split another way goes to another folder.',
    });
  const shardCount = counts[0] ?? null;
  const runs = new Map<number, RunFile>();
  const runFiles = new Map<number, string>();
  for (const input of inputs) {
    const index = input.shard?.index ?? 0;
    if (!input.run) {
      if (input.results)
        throw new EvalDataError(`${input.results.file} has no run file beside it (${shardName(input.shard)}), so its configuration is unknown.`, {
          hint: 'Rerun the same `icot eval run` command into this folder: it writes the run file and resumes.',
          location: { file: input.results.file },
        });
      continue;
    }
    const { file, value } = input.run;
    const inside = value.shard;
    if ((inside === null) !== (input.shard === null) || (inside && input.shard && (inside.index !== input.shard.index || inside.count !== input.shard.count)))
      throw new EvalDataError(`${file} says it is ${shardName(inside)}, but its name says ${shardName(input.shard)}.`, {
        hint: 'Do not rename run files: each shard writes run-<i>-of-<n>.json and results-<i>-of-<n>.jsonl itself.',
        location: { file },
      });
    runs.set(index, value);
    runFiles.set(index, file);
  }
  if (runs.size === 0) throw new EvalDataError('The folder holds no run file.', { hint: 'Pass the folder given to `icot eval run --out`.' });
  const indexes = [...runs.keys()].sort((a, b) => a - b);
  const first = runs.get(indexes[0]!)!;
  const firstFile = runFiles.get(indexes[0]!)!;
  const warnings: string[] = [];
  for (const index of indexes.slice(1)) {
    const other = runs.get(index)!;
    const pick = (run: RunFile): Record<string, unknown> => Object.fromEntries(CONFIGURATION_FIELDS.map((field) => [field, run.raw[field] ?? null]));
    const differing = diffConfigurations(pick(first), pick(other), MACHINE_FIELDS).map((d) => d.path);
    if (differing.length)
      throw new EvalDataError(`${runFiles.get(index)} and ${firstFile} describe different runs (${differing.slice(0, 6).join(', ')}${differing.length > 6 ? ', ...' : ''} differ${differing.length === 1 ? 's' : ''}): their results cannot be merged.`, {
        hint: 'Every shard of a run must use the same dataset, method, model and options; run the odd shard again with the others\' options, into this folder.',
        location: { file: runFiles.get(index)! },
      });
    const packages = (run: RunFile): unknown => (run.versions !== null && typeof run.versions === 'object' && 'packages' in run.versions ? run.versions.packages : run.versions);
    if (canonicalJson(packages(first)) !== canonicalJson(packages(other))) warnings.push(`${runFiles.get(index)} was written by other icot versions than ${firstFile}.`);
    if (other.limit !== first.limit || canonicalJson(other.ids) !== canonicalJson(first.ids)) warnings.push(`${runFiles.get(index)} and ${firstFile} run different --limit / --ids; each shard's own are used for its missing samples.`);
  }
  const shardsAbsent = shardCount === null ? [] : Array.from({ length: shardCount }, (_, i) => i).filter((i) => !runs.has(i));

  const finished = new Map<string, SampleResult>();
  const failures = new Map<string, FailedSample>();
  let duplicates = 0;
  const torn: { file: string; line: number }[] = [];
  const ordered = [...inputs].sort((a, b) => (a.shard?.index ?? 0) - (b.shard?.index ?? 0));
  for (const input of ordered) {
    if (!input.results) continue;
    const { lines } = input.results;
    if (lines.torn) torn.push(lines.torn);
    for (const sample of lines.samples) {
      if (finished.has(sample.id)) duplicates++;
      else finished.set(sample.id, sample);
    }
    for (const failure of lines.failed) failures.set(failure.id, failure);
  }
  for (const id of finished.keys()) failures.delete(id);
  if (duplicates) warnings.push(`${duplicates} sample${duplicates === 1 ? ' was' : 's were'} finished more than once; the first line of each counts.`);
  for (const t of torn) warnings.push(`${t.file} line ${t.line} is cut short (an interrupted write) and is left out; resuming the run repairs it.`);
  return { run: first, runs, shardCount, shardsFound: indexes, shardsAbsent, samples: [...finished.values()], failed: [...failures.values()], duplicates, torn, warnings };
}

/**
 * What a run folder should hold: the union of every shard's samples, in split order, each shard's
 * taken as `icot eval run` takes them ({@link selectSamples}: `ids`, then `limit`, then the samples
 * whose index in the split is the shard's modulo the count), with its own run file's `ids` and
 * `limit` (an absent shard's: the shared configuration's). Ids of a run file that are not in the
 * split are left out.
 */
export function expectedSampleIds(splitIds: readonly string[], merged: MergedRun): string[] {
  const inSplit = new Set(splitIds);
  const take = (run: RunFile, shard: ShardInfo | undefined): string[] =>
    selectSamples(splitIds, {
      ...(run.ids ? { ids: run.ids.filter((id) => inSplit.has(id)) } : {}),
      ...(run.limit !== null ? { limit: run.limit } : {}),
      ...(shard ? { shard } : {}),
    }).selected.map((s) => s.id);
  if (merged.shardCount === null) return take(merged.run, undefined);
  const expected = new Set<string>();
  for (let index = 0; index < merged.shardCount; index++) for (const id of take(merged.runs.get(index) ?? merged.run, { index, count: merged.shardCount })) expected.add(id);
  return splitIds.filter((id) => expected.has(id));
}

/** A sample of the split as the report needs it. */
export interface SplitSample {
  readonly id: string;
  readonly domain?: string;
  readonly topic?: string;
  readonly category?: string;
}

/** Sums of the samples' token counts, and their means per sample. */
export interface UsageSummary {
  /** Samples whose line has `usage`. */
  readonly samples: number;
  readonly promptTokens: number;
  readonly generatedTokens: number;
  readonly insertedTokens: number;
  /** Means over those samples (null when none has usage). */
  readonly perSample: { readonly promptTokens: number; readonly generatedTokens: number; readonly insertedTokens: number } | null;
}

/** How many insertions the finished samples had. */
export interface InsertionSummary {
  readonly total: number;
  /** Mean insertions per finished sample (null when none is finished). */
  readonly perSample: number | null;
  /** Samples with at least one insertion. */
  readonly samplesWithInsertions: number;
  /** Insertions whose selector fell back to another one. */
  readonly fallbacks: number;
}

/** What every run report says besides the score. */
export interface RunReportBase {
  readonly dataset: DatasetName;
  readonly split: string | null;
  readonly method: string | null;
  readonly shots: number | null;
  readonly preset: string | null;
  /** The run's description as its run file has it (model, strategies, k, sampling, ...). */
  readonly description: unknown;
  /** Finished samples counted. */
  readonly total: number;
  /** Samples the run should hold (null when the split is unknown). */
  readonly expected: number | null;
  /** Ids of the run's samples with no line, in split order (null when the split is unknown). */
  readonly missing: readonly string[] | null;
  /** Samples that failed and never finished. */
  readonly failed: readonly { readonly id: string; readonly code: string; readonly message: string }[];
  readonly shards: { readonly count: number | null; readonly found: readonly number[]; readonly absent: readonly number[] };
  readonly usage: UsageSummary;
  readonly insertions: InsertionSummary;
  /** Mean of each numeric `timings` field over the samples that have it (milliseconds). */
  readonly timings: Readonly<Record<string, number>>;
  /** Finished lines left out: ids not in the split (only when it is known), repeated ids. */
  readonly skipped: { readonly outsideSplit: number; readonly duplicates: number };
  readonly torn: readonly { readonly file: string; readonly line: number }[];
  readonly warnings: readonly string[];
}

/** The report of a multiple-choice run (M3CoT, ScienceQA). */
export interface MultipleChoiceRunReport extends RunReportBase {
  readonly kind: 'multiple-choice';
  readonly correct: number;
  /** `correct / total`, null when nothing is finished. */
  readonly accuracy: number | null;
  /** `{domain: {total, correct, accuracy}}`, in M3CoT's domain order. */
  readonly byDomain: Readonly<Record<string, Tally>>;
  /** `{domain: {topic: {total, correct, accuracy}}}`. */
  readonly byTopic: Readonly<Record<string, Readonly<Record<string, Tally>>>>;
}

/** The report of an open-ended run (LLaVA-W). */
export interface RougeRunReport extends RunReportBase {
  readonly kind: 'rouge';
  /** Mean ROUGE-L over the finished questions (numpy's mean), null when none is finished. */
  readonly rougeL: number | null;
  /** `{category: {total, rougeL}}`, in the split's order (else first seen). */
  readonly byCategory: Readonly<Record<string, RougeTally>>;
}

/** A run's report. */
export type RunReport = MultipleChoiceRunReport | RougeRunReport;

/** Options of {@link summarizeRun}. */
export interface SummarizeOptions {
  /**
   * The split the run read, in order (from the dataset folder): the missing samples are the
   * run's samples with no line; finished ids outside it are skipped; a line without a domain,
   * topic or category takes the split's. Without it, the run file's `ids` stand for the split
   * when it has them; otherwise `missing` is null.
   */
  readonly split?: readonly SplitSample[];
}

function usageOf(samples: readonly SampleResult[]): UsageSummary {
  const withUsage = samples.filter((s) => s.usage);
  const sum = (field: 'promptTokens' | 'generatedTokens' | 'insertedTokens'): number => withUsage.reduce((acc, s) => acc + s.usage![field], 0);
  const promptTokens = sum('promptTokens');
  const generatedTokens = sum('generatedTokens');
  const insertedTokens = sum('insertedTokens');
  const n = withUsage.length;
  return {
    samples: n,
    promptTokens,
    generatedTokens,
    insertedTokens,
    perSample: n ? { promptTokens: promptTokens / n, generatedTokens: generatedTokens / n, insertedTokens: insertedTokens / n } : null,
  };
}

function timingMeans(samples: readonly SampleResult[]): Record<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const sample of samples)
    for (const [field, value] of Object.entries(sample.timings)) {
      const cell = sums.get(field) ?? { total: 0, n: 0 };
      cell.total += value;
      cell.n++;
      sums.set(field, cell);
    }
  return Object.fromEntries([...sums].map(([field, { total, n }]) => [field, total / n]));
}

const tally = (total: number, correct: number): Tally => ({ total, correct, accuracy: correct / total });

/**
 * The report of a merged run: accuracy as M3CoT's `MetricData.metric` sums it (by domain and
 * topic, from each line's `correct`) or ROUGE-L as pycocoevalcap averages it (numpy's mean, per
 * category), the missing samples, and the insertions' cost.
 */
export function summarizeRun(merged: MergedRun, options: SummarizeOptions = {}): RunReport {
  const { run } = merged;
  // Without the split, the run file's ids stand for it when every shard runs the same ids and
  // --limit does not cut them (it keeps the first in an order only the split knows): the shards
  // together then hold exactly those ids, however they were assigned.
  const sameSelection = [...merged.runs.values()].every((r) => canonicalJson(r.ids) === canonicalJson(run.ids) && r.limit === run.limit);
  const idsStandIn = run.ids && sameSelection && (run.limit === null || run.limit >= run.ids.length) ? [...run.ids] : undefined;
  const splitIds = options.split?.map((s) => s.id) ?? idsStandIn;
  const bySplitId = options.split ? new Map(options.split.map((s) => [s.id, s] as const)) : undefined;
  const inSplit = splitIds ? new Set(splitIds) : undefined;
  let outsideSplit = 0;
  const samples = merged.samples.filter((s) => {
    if (!options.split || bySplitId!.has(s.id)) return true;
    outsideSplit++;
    return false;
  });
  const expected = splitIds ? expectedSampleIds(splitIds, merged) : null;
  const done = new Set([...samples.map((s) => s.id), ...merged.failed.map((f) => f.id)]);
  const missing = expected ? expected.filter((id) => !done.has(id)) : null;
  const warnings = [...merged.warnings];
  if (outsideSplit) warnings.push(`${outsideSplit} finished sample${outsideSplit === 1 ? ' is' : 's are'} not in the ${run.split ? `${run.split} ` : ''}split and ${outsideSplit === 1 ? 'is' : 'are'} left out.`);
  if (inSplit && run.ids) {
    const unknown = run.ids.filter((id) => !inSplit.has(id));
    if (unknown.length && options.split) warnings.push(`${unknown.length} of the run's --ids ${unknown.length === 1 ? 'is' : 'are'} not in the split (${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}).`);
  }
  const insertionsTotal = samples.reduce((acc, s) => acc + s.insertions, 0);
  const base: RunReportBase = {
    dataset: run.dataset,
    split: run.split,
    method: run.method,
    shots: run.shots,
    preset: run.preset,
    description: run.description,
    total: samples.length,
    expected: expected ? expected.length : null,
    missing,
    failed: merged.failed.filter((f) => !inSplit || !options.split || inSplit.has(f.id)).map((f) => ({ id: f.id, code: f.error.code, message: f.error.message })),
    shards: { count: merged.shardCount, found: merged.shardsFound, absent: merged.shardsAbsent },
    usage: usageOf(samples),
    insertions: {
      total: insertionsTotal,
      perSample: samples.length ? insertionsTotal / samples.length : null,
      samplesWithInsertions: samples.filter((s) => s.insertions > 0).length,
      fallbacks: samples.reduce((acc, s) => acc + s.fallbacks, 0),
    },
    timings: timingMeans(samples),
    skipped: { outsideSplit, duplicates: merged.duplicates },
    torn: merged.torn,
    warnings,
  };

  if (run.dataset === 'llava-w') {
    const scored = samples.map((s) => {
      if (s.rougeL === undefined)
        throw new EvalDataError(`${s.location.file} line ${s.location.line} (id '${s.id}') has no "rougeL", but the run is on LLaVA-W.`, {
          hint: 'LLaVA-W result lines carry their ROUGE-L; rerun the sample, or score the predictions with `icot eval score --dataset llava-w`.',
          location: { ...s.location, id: s.id },
        });
      return { category: s.category ?? bySplitId?.get(s.id)?.category ?? 'unknown', rougeL: s.rougeL };
    });
    const categoryOrder = [...new Set([...(options.split?.map((s) => s.category ?? 'unknown') ?? []), ...scored.map((s) => s.category)])];
    const byCategory: Record<string, RougeTally> = {};
    for (const category of categoryOrder) {
      const values = scored.filter((s) => s.category === category).map((s) => s.rougeL);
      if (values.length) byCategory[category] = { total: values.length, rougeL: numpyMean(values) };
    }
    return { ...base, kind: 'rouge', rougeL: scored.length ? numpyMean(scored.map((s) => s.rougeL)) : null, byCategory };
  }

  const counts = new Map<string, Map<string, { total: number; correct: number }>>();
  let unlabelled = 0;
  for (const sample of samples) {
    if (sample.correct === undefined)
      throw new EvalDataError(`${sample.location.file} line ${sample.location.line} (id '${sample.id}') has no "correct", but the run is on ${run.dataset}.`, {
        hint: 'Multiple-choice result lines carry "correct"; rerun the sample, or score the predictions with `icot eval score`.',
        location: { ...sample.location, id: sample.id },
      });
    const known = bySplitId?.get(sample.id);
    const domain = sample.domain ?? known?.domain;
    const topic = sample.topic ?? known?.topic;
    if (domain === undefined || topic === undefined) unlabelled++;
    let topics = counts.get(domain ?? 'unknown');
    if (!topics) counts.set(domain ?? 'unknown', (topics = new Map()));
    const cell = topics.get(topic ?? 'unknown') ?? { total: 0, correct: 0 };
    cell.total++;
    if (sample.correct) cell.correct++;
    topics.set(topic ?? 'unknown', cell);
  }
  if (unlabelled) warnings.push(`${unlabelled} finished sample${unlabelled === 1 ? ' has' : 's have'} no domain or topic; counted under 'unknown' (pass --data to take them from the dataset).`);
  let correct = 0;
  const byDomain: Record<string, Tally> = {};
  const byTopic: Record<string, Record<string, Tally>> = {};
  for (const domain of orderDomains(counts.keys())) {
    const topics = counts.get(domain)!;
    const cells: Record<string, Tally> = {};
    let domainTotal = 0;
    let domainCorrect = 0;
    for (const topic of [...topics.keys()].sort(byCodePoint)) {
      const cell = topics.get(topic)!;
      cells[topic] = tally(cell.total, cell.correct);
      domainTotal += cell.total;
      domainCorrect += cell.correct;
    }
    byDomain[domain] = tally(domainTotal, domainCorrect);
    byTopic[domain] = cells;
    correct += domainCorrect;
  }
  return { ...base, kind: 'multiple-choice', correct, accuracy: samples.length ? correct / samples.length : null, byDomain, byTopic };
}
