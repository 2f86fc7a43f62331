/**
 * The evaluation sets in their published layouts, parsed from their files' text (no file system:
 * `@icot/eval/node` reads the folders).
 * @module
 */
import { OptionError } from '@icot/core';
import { EvalDataError, type RecordLocation } from './errors.js';
import { ANSWER_LETTERS } from './judge.js';
import { idText, isObject, isStringArray, parseJson, parseJsonl } from './jsonl.js';

/** The datasets icot reads. */
export type DatasetName = 'm3cot' | 'scienceqa' | 'llava-w';

/** The dataset names, for option checks. */
export const DATASET_NAMES: readonly DatasetName[] = ['m3cot', 'scienceqa', 'llava-w'];

/** A multiple-choice question of M3CoT or ScienceQA. */
export interface MultipleChoiceSample {
  readonly dataset: 'm3cot' | 'scienceqa';
  /** M3CoT `id`; ScienceQA pid. */
  readonly id: string;
  readonly question: string;
  readonly choices: readonly string[];
  /** The correct choice's letter: M3CoT's `answer`, ScienceQA's integer `answer` as A-F. */
  readonly answer: string;
  /** M3CoT `context`; ScienceQA `hint` ('' when there is none). */
  readonly context: string;
  /** M3CoT `domain`; ScienceQA `subject`. */
  readonly domain: string;
  readonly topic: string;
  /** M3CoT / ScienceQA `category`, when the record has one. */
  readonly category?: string;
  /**
   * The image file: relative to the dataset folder (`/`-separated) from the parse functions,
   * absolute from the `@icot/eval/node` loaders; `undefined` for ScienceQA questions without one.
   */
  readonly image: string | undefined;
  /** The split the record was read from. */
  readonly split: string;
  /** Where the record is. */
  readonly location: RecordLocation;
  /** The record as published. */
  readonly record: Readonly<Record<string, unknown>>;
}

/** An open-ended question of LLaVA-Bench-in-the-Wild, with GPT-4's answer as the reference. */
export interface OpenEndedSample {
  readonly dataset: 'llava-w';
  /** `question_id` as text. */
  readonly id: string;
  /** `text` of questions.jsonl. */
  readonly question: string;
  /** `conv`, `detail` or `complex`. */
  readonly category: string;
  /** `text` of answers_gpt4.jsonl for the same question_id: the ROUGE-L reference. */
  readonly reference: string;
  /** The image's `caption` from context.jsonl, when the folder has one. */
  readonly caption?: string;
  /** As in {@link MultipleChoiceSample.image} (`images/<image>`). */
  readonly image: string;
  readonly location: RecordLocation;
  readonly record: Readonly<Record<string, unknown>>;
}

/** A record of the split that the layout's own code leaves out, and why. */
export interface SkippedRecord {
  readonly id: string;
  readonly reason: 'no-image';
}

/** A split of a multiple-choice set. */
export interface MultipleChoiceDataset {
  readonly name: 'm3cot' | 'scienceqa';
  readonly split: string;
  readonly samples: readonly MultipleChoiceSample[];
  /** Records of the split that are not samples (M3CoT records with `image: null`, ScienceQA questions without an image in the image subset). */
  readonly skipped: readonly SkippedRecord[];
}

/** LLaVA-Bench-in-the-Wild. */
export interface OpenEndedDataset {
  readonly name: 'llava-w';
  readonly samples: readonly OpenEndedSample[];
}

function bad(message: string, location: RecordLocation, hint: string): never {
  throw new EvalDataError(message, { hint, location });
}

function where(location: RecordLocation): string {
  return `${location.file} ${location.line !== undefined ? `line ${location.line} ` : ''}(id '${location.id}')`;
}

function requireString(record: Record<string, unknown>, field: string, location: RecordLocation, hint: string): string {
  const value = record[field];
  if (typeof value !== 'string') bad(`${where(location)}: "${field}" must be a string${value === undefined ? ', and it is missing' : `, not ${JSON.stringify(value)?.slice(0, 40)}`}.`, location, hint);
  return value;
}

function optionalString(record: Record<string, unknown>, field: string, location: RecordLocation, hint: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') bad(`${where(location)}: "${field}" must be a string, not ${JSON.stringify(value)?.slice(0, 40)}.`, location, hint);
  return value;
}

function requireChoices(record: Record<string, unknown>, location: RecordLocation, hint: string): string[] {
  const choices = record['choices'];
  if (!isStringArray(choices) || choices.length === 0) bad(`${where(location)}: "choices" must be a non-empty list of strings.`, location, hint);
  if (choices.length > ANSWER_LETTERS.length) bad(`${where(location)} has ${choices.length} choices; the scoring code names at most 6 (A-F).`, location, hint);
  return choices;
}

const M3COT_HINT = 'Use the M3CoT split files as published (LightChen2333/M3CoT, one record per line as the ICoT code reads them: id, question, choices, answer, context, domain, topic ...).';

/**
 * Parse an M3CoT split as the ICoT code reads it (`DIR/<split>.jsonl`, images `DIR/images/<id>.png`):
 * one record per line with `id`, `question`, `choices`, `answer` (a letter), `domain`, `topic`, and
 * `context`, `category`, `image_id`, `rationale`, `split`, `image`. Records whose `image` is `null`
 * are left out, as ICoT's `run.py` does (`skipped`). Ids must be unique, as M3CoT's loader asserts.
 */
export function parseM3CoTSplit(text: string, options: { readonly file: string; readonly split: string }): MultipleChoiceDataset {
  const { file, split } = options;
  const samples: MultipleChoiceSample[] = [];
  const skipped: SkippedRecord[] = [];
  const seen = new Map<string, number>();
  for (const { line, value } of parseJsonl(text, file)) {
    if (!isObject(value)) bad(`${file} line ${line} is not a JSON object.`, { file, line }, M3COT_HINT);
    const id = typeof value['id'] === 'string' ? value['id'] : undefined;
    if (id === undefined) bad(`${file} line ${line} has no string "id".`, { file, line }, M3COT_HINT);
    const location = { file, line, id };
    const first = seen.get(id);
    if (first !== undefined) bad(`${where(location)}: the id is also on line ${first}; M3CoT ids are unique.`, location, 'Remove the duplicate record.');
    seen.set(id, line);
    const question = requireString(value, 'question', location, M3COT_HINT);
    const choices = requireChoices(value, location, M3COT_HINT);
    const answer = requireString(value, 'answer', location, M3COT_HINT);
    const index = ANSWER_LETTERS.indexOf(answer as (typeof ANSWER_LETTERS)[number]);
    if (index < 0 || index >= choices.length)
      bad(`${where(location)}: "answer" ${JSON.stringify(answer)} is not the letter of one of its ${choices.length} choices (${ANSWER_LETTERS.slice(0, choices.length).join(', ')}).`, location, M3COT_HINT);
    const domain = requireString(value, 'domain', location, M3COT_HINT);
    const topic = requireString(value, 'topic', location, M3COT_HINT);
    const context = optionalString(value, 'context', location, M3COT_HINT) ?? '';
    const category = optionalString(value, 'category', location, M3COT_HINT);
    if (value['image'] === null) {
      skipped.push({ id, reason: 'no-image' }); // ICoT run.py: [x for x in dataset if x['image'] is not None]
      continue;
    }
    samples.push({
      dataset: 'm3cot',
      id,
      question,
      choices,
      answer,
      context,
      domain,
      topic,
      ...(category !== undefined ? { category } : {}),
      image: `images/${id}.png`,
      split,
      location,
      record: value,
    });
  }
  return { name: 'm3cot', split, samples, skipped };
}

/** Which ScienceQA questions a split holds: those with an image (`image`, as ICoT evaluates) or `all`. */
export type ScienceQaSubset = 'image' | 'all';

const SQA_HINT = 'Use problems.json and pid_splits.json as published (lupantech/ScienceQA data/scienceqa/).';

/**
 * Parse ScienceQA (`problems.json`: pid -> {question, choices, answer (integer), hint, image,
 * subject, topic, category, split, ...}; `pid_splits.json`: split -> pids). The samples are the
 * split's problems in `pid_splits` order, by default only those with an image (`subset: 'image'`,
 * the IMG subset ICoT reports); images are `images/<problem split>/<pid>/<image>` (`image.png`).
 * `domain` is the subject (natural / social / language science).
 */
export function parseScienceQA(
  problemsText: string,
  splitsText: string,
  options: { readonly split: string; readonly subset?: ScienceQaSubset; readonly problemsFile?: string; readonly splitsFile?: string },
): MultipleChoiceDataset {
  const problemsFile = options.problemsFile ?? 'problems.json';
  const splitsFile = options.splitsFile ?? 'pid_splits.json';
  const subset = options.subset ?? 'image';
  const problems = parseJson(problemsText, problemsFile);
  const splits = parseJson(splitsText, splitsFile);
  if (!isObject(problems)) bad(`${problemsFile} is not an object of problems by pid.`, { file: problemsFile }, SQA_HINT);
  if (!isObject(splits)) bad(`${splitsFile} is not an object of pid lists by split.`, { file: splitsFile }, SQA_HINT);
  const pids = splits[options.split];
  if (pids === undefined)
    throw new OptionError(`ScienceQA has no split '${options.split}' in ${splitsFile}.`, { hint: `Use one of: ${Object.keys(splits).join(', ')}.` });
  if (!Array.isArray(pids)) bad(`${splitsFile}: split '${options.split}' is not a list of pids.`, { file: splitsFile }, SQA_HINT);
  const samples: MultipleChoiceSample[] = [];
  const skipped: SkippedRecord[] = [];
  const seen = new Set<string>();
  for (const raw of pids) {
    const id = idText(raw);
    if (id === undefined) bad(`${splitsFile}: split '${options.split}' holds ${JSON.stringify(raw)}, not a pid.`, { file: splitsFile }, SQA_HINT);
    const location = { file: problemsFile, id };
    if (seen.has(id)) bad(`${splitsFile}: pid '${id}' is listed twice in split '${options.split}'.`, { file: splitsFile, id }, SQA_HINT);
    seen.add(id);
    const problem = problems[id];
    if (!isObject(problem)) bad(`${problemsFile} has no problem '${id}' (listed in split '${options.split}' of ${splitsFile}).`, location, 'Use problems.json and pid_splits.json from the same ScienceQA release.');
    const question = requireString(problem, 'question', location, SQA_HINT);
    const choices = requireChoices(problem, location, SQA_HINT);
    const answer = problem['answer'];
    if (typeof answer !== 'number' || !Number.isInteger(answer) || answer < 0 || answer >= choices.length)
      bad(`${where(location)}: "answer" must be the index of one of its ${choices.length} choices (0-${choices.length - 1}), not ${JSON.stringify(answer)}.`, location, SQA_HINT);
    const image = problem['image'];
    if (image !== null && image !== undefined && typeof image !== 'string') bad(`${where(location)}: "image" must be a file name or null.`, location, SQA_HINT);
    if (subset === 'image' && (image === null || image === undefined || image === '')) {
      skipped.push({ id, reason: 'no-image' });
      continue;
    }
    const folder = optionalString(problem, 'split', location, SQA_HINT) ?? options.split;
    const category = optionalString(problem, 'category', location, SQA_HINT);
    samples.push({
      dataset: 'scienceqa',
      id,
      question,
      choices,
      answer: ANSWER_LETTERS[answer]!,
      context: optionalString(problem, 'hint', location, SQA_HINT) ?? '',
      domain: requireString(problem, 'subject', location, SQA_HINT),
      topic: requireString(problem, 'topic', location, SQA_HINT),
      ...(category !== undefined ? { category } : {}),
      image: typeof image === 'string' && image !== '' ? `images/${folder}/${id}/${image}` : undefined,
      split: options.split,
      location,
      record: problem,
    });
  }
  return { name: 'scienceqa', split: options.split, samples, skipped };
}

const LLAVA_HINT = 'Use the files of liuhaotian/llava-bench-in-the-wild as published (questions.jsonl, answers_gpt4.jsonl, context.jsonl, images/).';

/**
 * Parse LLaVA-Bench-in-the-Wild: `questions.jsonl` (question_id, image, text, category),
 * `answers_gpt4.jsonl` (question_id, text: the reference) and, when given, `context.jsonl` (image,
 * caption). Images are `images/<image>`. Every question needs exactly one GPT-4 answer.
 */
export function parseLlavaBench(texts: { readonly questions: string; readonly answers: string; readonly context?: string }, files: { readonly questions?: string; readonly answers?: string; readonly context?: string } = {}): OpenEndedDataset {
  const questionsFile = files.questions ?? 'questions.jsonl';
  const answersFile = files.answers ?? 'answers_gpt4.jsonl';
  const contextFile = files.context ?? 'context.jsonl';
  const references = new Map<string, string>();
  for (const { line, value } of parseJsonl(texts.answers, answersFile)) {
    const id = isObject(value) ? idText(value['question_id']) : undefined;
    if (!isObject(value) || id === undefined) bad(`${answersFile} line ${line} has no integer "question_id".`, { file: answersFile, line }, LLAVA_HINT);
    const location = { file: answersFile, line, id };
    if (references.has(id)) bad(`${where(location)}: a second answer for the same question.`, location, LLAVA_HINT);
    references.set(id, requireString(value, 'text', location, LLAVA_HINT));
  }
  const captions = new Map<string, string>();
  if (texts.context !== undefined)
    for (const { line, value } of parseJsonl(texts.context, contextFile)) {
      if (!isObject(value) || typeof value['image'] !== 'string') bad(`${contextFile} line ${line} has no string "image".`, { file: contextFile, line }, LLAVA_HINT);
      const location = { file: contextFile, line, id: idText(value['id']) ?? value['image'] };
      captions.set(value['image'], requireString(value, 'caption', location, LLAVA_HINT));
    }
  const samples: OpenEndedSample[] = [];
  const seen = new Set<string>();
  for (const { line, value } of parseJsonl(texts.questions, questionsFile)) {
    const id = isObject(value) ? idText(value['question_id']) : undefined;
    if (!isObject(value) || id === undefined) bad(`${questionsFile} line ${line} has no integer "question_id".`, { file: questionsFile, line }, LLAVA_HINT);
    const location = { file: questionsFile, line, id };
    if (seen.has(id)) bad(`${where(location)}: the question_id is used twice.`, location, LLAVA_HINT);
    seen.add(id);
    const image = requireString(value, 'image', location, LLAVA_HINT);
    const reference = references.get(id);
    if (reference === undefined) bad(`${answersFile} has no answer for question_id ${id} (${questionsFile} line ${line}).`, location, `Use questions.jsonl and answers_gpt4.jsonl from the same release; ${LLAVA_HINT}`);
    const caption = captions.get(image);
    samples.push({
      dataset: 'llava-w',
      id,
      question: requireString(value, 'text', location, LLAVA_HINT),
      category: requireString(value, 'category', location, LLAVA_HINT),
      reference,
      ...(caption !== undefined ? { caption } : {}),
      image: `images/${image}`,
      location,
      record: value,
    });
  }
  return { name: 'llava-w', samples };
}
