/**
 * The files `icot eval run` writes into its output folder, parsed from their text: result lines
 * (`results.jsonl`, or `results-<i>-of-<n>.jsonl` per shard) and run files (`run.json`, or
 * `run-<i>-of-<n>.json`).
 * @module
 */
import { DATASET_NAMES, type DatasetName } from './datasets.js';
import { EvalDataError } from './errors.js';
import { idText, isObject, parseJson } from './jsonl.js';

/** Token counts of one sample. */
export interface SampleUsage {
  readonly promptTokens: number;
  readonly generatedTokens: number;
  /** Tokens fed in by insertions (patches and their framing tokens). */
  readonly insertedTokens: number;
}

/** A finished sample: one line of a results file. */
export interface SampleResult {
  readonly id: string;
  /** The model's text (absent only in lines that leave it out). */
  readonly prediction?: string;
  /** The letter `judge_answer` read (multiple choice). */
  readonly extracted?: string;
  /** Multiple choice: whether the extracted answer is the right one. */
  readonly correct?: boolean;
  /** LLaVA-W: ROUGE-L against GPT-4's answer (a fraction). */
  readonly rougeL?: number;
  readonly domain?: string;
  readonly topic?: string;
  readonly category?: string;
  /** How many insertions the answer had. */
  readonly insertions: number;
  /** How many of them fell back to another selector (their `fallback` is set). */
  readonly fallbacks: number;
  readonly usage?: SampleUsage;
  /** The line's numeric `timings` fields (milliseconds). */
  readonly timings: Readonly<Record<string, number>>;
  /** Where the line is. */
  readonly location: { readonly file: string; readonly line: number };
}

/** A sample the run gave up on: a line `{"id", "error": {code, message, hint}}`. */
export interface FailedSample {
  readonly id: string;
  readonly error: { readonly code: string; readonly message: string; readonly hint: string | null };
  readonly location: { readonly file: string; readonly line: number };
}

/** A results file's lines. */
export interface ResultLines {
  readonly samples: readonly SampleResult[];
  readonly failed: readonly FailedSample[];
  /**
   * The last line, when it was cut short: a crash or kill -9 in the middle of a write leaves it
   * without its line end (or not JSON). It is left out; `icot eval run` cuts it off and runs that
   * sample again when it resumes.
   */
  readonly torn: { readonly file: string; readonly line: number } | null;
}

const LINE_HINT = 'Each line of a results file is one sample as `icot eval run` writes it: {"schemaVersion", "id", "prediction", "correct" or "rougeL", ...} or {"schemaVersion", "id", "error"}.';

function bad(message: string, file: string, line: number, id?: string): never {
  throw new EvalDataError(message, { hint: LINE_HINT, location: { file, line, ...(id !== undefined ? { id } : {}) } });
}

function optionalString(record: Record<string, unknown>, field: string, file: string, line: number, id: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') bad(`${file} line ${line} (id '${id}'): "${field}" must be a string, not ${JSON.stringify(value)?.slice(0, 40)}.`, file, line, id);
  return value;
}

function countInsertions(value: unknown, file: string, line: number, id: string): { insertions: number; fallbacks: number } {
  if (value === undefined || value === null) return { insertions: 0, fallbacks: 0 };
  if (!Array.isArray(value)) bad(`${file} line ${line} (id '${id}'): "insertions" must be a list.`, file, line, id);
  let fallbacks = 0;
  for (const insertion of value) if (isObject(insertion) && insertion['fallback'] !== undefined && insertion['fallback'] !== null && insertion['fallback'] !== false) fallbacks++;
  return { insertions: value.length, fallbacks };
}

function parseUsage(value: unknown, file: string, line: number, id: string): SampleUsage | undefined {
  if (value === undefined || value === null) return undefined;
  const fields = ['promptTokens', 'generatedTokens', 'insertedTokens'] as const;
  if (!isObject(value) || fields.some((f) => value[f] !== undefined && (typeof value[f] !== 'number' || !Number.isFinite(value[f]))))
    bad(`${file} line ${line} (id '${id}'): "usage" must be {promptTokens, generatedTokens, insertedTokens} with numbers.`, file, line, id);
  return { promptTokens: (value['promptTokens'] as number) ?? 0, generatedTokens: (value['generatedTokens'] as number) ?? 0, insertedTokens: (value['insertedTokens'] as number) ?? 0 };
}

function numericFields(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObject(value)) for (const [key, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  return out;
}

/**
 * Parse a results file's text: one JSON object per line, a finished sample (`id` with `correct` or
 * `rougeL`) or a failed one (`id` with `error`). Blank lines are skipped. A last line without its
 * line end, or that is not JSON, is a write cut short: it is left out and named in `torn` (as
 * `icot eval run` cuts it off when it resumes). Any other malformed line is an
 * {@link EvalDataError} naming the file and line.
 */
export function parseResultLines(text: string, file: string): ResultLines {
  const samples: SampleResult[] = [];
  const failed: FailedSample[] = [];
  const lines = text.split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === '') last--;
  let torn: ResultLines['torn'] = null;
  const unterminated = last === lines.length - 1; // nothing after the last line: no line end
  for (let i = 0; i <= last; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const line = i + 1;
    if (i === last && unterminated) {
      torn = { file, line };
      break;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      if (i === last) {
        torn = { file, line };
        break;
      }
      throw new EvalDataError(`${file} line ${line} is not JSON (${(error as Error).message}), and it is not the last line.`, {
        hint: 'Only the last line of a results file can be cut short (an interrupted write); fix or remove that line.',
        location: { file, line },
      });
    }
    if (!isObject(value)) bad(`${file} line ${line} is not a JSON object.`, file, line);
    const id = idText(value['id']);
    if (id === undefined) bad(`${file} line ${line} has no "id".`, file, line);
    const location = { file, line };
    if (value['error'] !== undefined) {
      const error = value['error'];
      if (!isObject(error) || typeof error['code'] !== 'string' || typeof error['message'] !== 'string')
        bad(`${file} line ${line} (id '${id}'): "error" must be {code, message, hint}.`, file, line, id);
      failed.push({ id, error: { code: error['code'], message: error['message'], hint: typeof error['hint'] === 'string' ? error['hint'] : null }, location });
      continue;
    }
    const correct = value['correct'];
    const rouge = value['rougeL'];
    if (correct !== undefined && typeof correct !== 'boolean') bad(`${file} line ${line} (id '${id}'): "correct" must be true or false.`, file, line, id);
    if (rouge !== undefined && (typeof rouge !== 'number' || !Number.isFinite(rouge) || rouge < 0 || rouge > 1)) bad(`${file} line ${line} (id '${id}'): "rougeL" must be a number from 0 to 1.`, file, line, id);
    if (correct === undefined && rouge === undefined) bad(`${file} line ${line} (id '${id}') has neither "correct" (multiple choice) nor "rougeL" (LLaVA-W), nor "error".`, file, line, id);
    const prediction = optionalString(value, 'prediction', file, line, id);
    const extracted = optionalString(value, 'extracted', file, line, id);
    const domain = optionalString(value, 'domain', file, line, id);
    const topic = optionalString(value, 'topic', file, line, id);
    const category = optionalString(value, 'category', file, line, id);
    const usage = parseUsage(value['usage'], file, line, id);
    samples.push({
      id,
      ...(prediction !== undefined ? { prediction } : {}),
      ...(extracted !== undefined ? { extracted } : {}),
      ...(correct !== undefined ? { correct } : {}),
      ...(rouge !== undefined ? { rougeL: rouge } : {}),
      ...(domain !== undefined ? { domain } : {}),
      ...(topic !== undefined ? { topic } : {}),
      ...(category !== undefined ? { category } : {}),
      ...countInsertions(value['insertions'], file, line, id),
      ...(usage ? { usage } : {}),
      timings: numericFields(value['timings']),
      location,
    });
  }
  return { samples, failed, torn };
}

/** Which part of the split a run file's process ran: shard `index` of `count`. */
export interface ShardInfo {
  readonly index: number;
  readonly count: number;
}

/** A run file: the configuration of one process of `icot eval run`. */
export interface RunFile {
  readonly schemaVersion: number;
  readonly dataset: DatasetName;
  readonly split: string | null;
  readonly method: string | null;
  readonly shots: number | null;
  readonly preset: string | null;
  /** Model, strategies, k, sampling, ... as the run describes them. */
  readonly description: unknown;
  readonly versions: unknown;
  readonly modelFiles: unknown;
  readonly shard: ShardInfo | null;
  /** `--limit`: the first n samples of the split (after `ids`). */
  readonly limit: number | null;
  /** `--ids`: only these samples. */
  readonly ids: readonly string[] | null;
  /** The dataset folder the run read, when the run file names it. */
  readonly data: string | null;
  /** ScienceQA's subset, when the run file names it. */
  readonly subset: string | null;
  /** The file as written. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const RUN_HINT = 'A run file is the JSON that `icot eval run` writes beside its results (run.json, run-<i>-of-<n>.json); rerun the command to write it again.';

function nullableString(record: Record<string, unknown>, field: string, file: string): string | null {
  const value = record[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new EvalDataError(`${file}: "${field}" must be a string.`, { hint: RUN_HINT, location: { file } });
  return value;
}

/**
 * Parse a run file. `dataset` must name a dataset icot reads; `shard` is `{index, count}` with
 * 0 <= index < count, or null; `limit` a positive integer or null; `ids` a list or null. Other
 * fields are kept as written (`description`, `versions`, `modelFiles` are compared, not read).
 */
export function parseRunFile(text: string, file: string): RunFile {
  const value = parseJson(text, file);
  if (!isObject(value)) throw new EvalDataError(`${file} is not a JSON object.`, { hint: RUN_HINT, location: { file } });
  const dataset = value['dataset'];
  if (typeof dataset !== 'string' || !(DATASET_NAMES as readonly string[]).includes(dataset))
    throw new EvalDataError(`${file}: "dataset" must be one of ${DATASET_NAMES.join(', ')}, not ${JSON.stringify(dataset)}.`, { hint: RUN_HINT, location: { file } });
  const shard = value['shard'];
  let shardInfo: ShardInfo | null = null;
  if (shard !== undefined && shard !== null) {
    const index = isObject(shard) ? shard['index'] : undefined;
    const count = isObject(shard) ? shard['count'] : undefined;
    if (typeof index !== 'number' || typeof count !== 'number' || !Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count)
      throw new EvalDataError(`${file}: "shard" must be {index, count} with 0 <= index < count, or null.`, { hint: RUN_HINT, location: { file } });
    shardInfo = { index, count };
  }
  const limit = value['limit'];
  if (limit !== undefined && limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1))
    throw new EvalDataError(`${file}: "limit" must be a positive integer or null.`, { hint: RUN_HINT, location: { file } });
  const ids = value['ids'];
  let idList: string[] | null = null;
  if (ids !== undefined && ids !== null) {
    const texts = Array.isArray(ids) ? ids.map(idText) : undefined;
    if (!texts || texts.some((t) => t === undefined)) throw new EvalDataError(`${file}: "ids" must be a list of sample ids or null.`, { hint: RUN_HINT, location: { file } });
    idList = texts as string[];
  }
  const shots = value['shots'];
  const schemaVersion = value['schemaVersion'];
  return {
    schemaVersion: typeof schemaVersion === 'number' ? schemaVersion : 0,
    dataset: dataset as DatasetName,
    split: nullableString(value, 'split', file),
    method: nullableString(value, 'method', file),
    shots: typeof shots === 'number' ? shots : null,
    preset: nullableString(value, 'preset', file),
    description: value['description'] ?? null,
    versions: value['versions'] ?? null,
    modelFiles: value['modelFiles'] ?? null,
    shard: shardInfo,
    limit: typeof limit === 'number' ? limit : null,
    ids: idList,
    data: typeof value['data'] === 'string' ? value['data'] : null,
    subset: typeof value['subset'] === 'string' ? value['subset'] : null,
    raw: value,
  };
}
