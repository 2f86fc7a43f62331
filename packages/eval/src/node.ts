/**
 * Reading the evaluation sets and prediction files from disk (Node.js).
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OptionError } from '@icot/core';
import {
  parseLlavaBench,
  parseM3CoTSplit,
  parseScienceQA,
  type MultipleChoiceDataset,
  type MultipleChoiceSample,
  type OpenEndedDataset,
  type OpenEndedSample,
  type ScienceQaSubset,
} from './datasets.js';
import { EvalDataError, MissingImageError } from './errors.js';
import { parsePredictions, type PredictionRecord } from './predictions.js';

/** Options of the dataset loaders. */
export interface LoadOptions {
  /** Check that every sample's image file exists (default true; scoring does not need images). */
  readonly checkImages?: boolean;
}

async function kind(path: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

async function requireFolder(dir: string, what: string, layout: string): Promise<string> {
  const absolute = resolve(dir);
  const found = await kind(absolute);
  if (found === undefined) throw new EvalDataError(`The ${what} folder ${dir} does not exist.`, { hint: `Pass the folder that holds ${layout}.`, location: { file: dir } });
  if (found === 'file') throw new EvalDataError(`${dir} is a file; the ${what} is a folder.`, { hint: `Pass the folder that holds ${layout}.`, location: { file: dir } });
  return absolute;
}

async function readText(path: string, shown: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EvalDataError(code === 'ENOENT' ? `${shown} does not exist.` : code === 'EISDIR' ? `${shown} is a folder, not a file.` : `${shown} cannot be read (${(error as Error).message}).`, {
      hint,
      location: { file: shown },
      cause: error,
    });
  }
}

async function withImages<S extends MultipleChoiceSample | OpenEndedSample>(samples: readonly S[], dir: string, check: boolean, fix: string): Promise<S[]> {
  const out = samples.map((s) => ({ ...s, image: s.image === undefined ? undefined : join(dir, s.image) }));
  if (!check) return out;
  // a few files at a time: thousands of stats at once would only queue in libuv's pool
  for (let start = 0; start < out.length; start += 64) {
    const batch = out.slice(start, start + 64);
    const kinds = await Promise.all(batch.map((s) => (s.image === undefined ? 'file' : kind(s.image))));
    kinds.forEach((k, i) => {
      const sample = batch[i]!;
      if (k !== 'file')
        throw new MissingImageError(`The image of ${sample.dataset} record '${sample.id}' (${sample.location.file}${sample.location.line !== undefined ? ` line ${sample.location.line}` : ''}) is ${k === 'dir' ? 'a folder' : 'missing'}: ${sample.image}.`, {
          hint: fix,
          location: sample.location,
          path: sample.image!,
        });
    });
  }
  return out;
}

/**
 * Load an M3CoT split in the layout the ICoT code reads (`DIR/<split>.jsonl`, `DIR/images/<id>.png`;
 * see {@link parseM3CoTSplit}). Sample images are absolute paths. A missing split file names the
 * splits the folder has; a missing image is a {@link MissingImageError}.
 */
export async function loadM3CoT(dir: string, options: LoadOptions & { readonly split?: string } = {}): Promise<MultipleChoiceDataset> {
  const split = options.split ?? 'test';
  const root = await requireFolder(dir, 'M3CoT', '<split>.jsonl files and images/<id>.png (the layout the ICoT code reads)');
  const file = join(dir, `${split}.jsonl`);
  if ((await kind(join(root, `${split}.jsonl`))) !== 'file') {
    const splits = (await readdir(root)).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length));
    throw new EvalDataError(`${file} does not exist: the M3CoT folder has no split '${split}'.`, {
      hint: splits.length ? `Use --split ${splits.join(' | ')}, the splits ${dir} has.` : `Put the M3CoT split files (${split}.jsonl ...) and images/ into ${dir}.`,
      location: { file },
    });
  }
  const dataset = parseM3CoTSplit(await readText(join(root, `${split}.jsonl`), file, 'Use the M3CoT split file as published.'), { file, split });
  const samples = await withImages(dataset.samples, root, options.checkImages ?? true, `Put the M3CoT images into ${join(dir, 'images')} as <id>.png (from the LightChen2333/M3CoT dataset).`);
  return { ...dataset, samples };
}

/**
 * Load ScienceQA (`DIR/problems.json`, `DIR/pid_splits.json`, `DIR/images/<split>/<pid>/image.png`;
 * see {@link parseScienceQA}): by default the test split's questions with an image.
 */
export async function loadScienceQA(dir: string, options: LoadOptions & { readonly split?: string; readonly subset?: ScienceQaSubset } = {}): Promise<MultipleChoiceDataset> {
  const root = await requireFolder(dir, 'ScienceQA', 'problems.json, pid_splits.json and images/<split>/<pid>/image.png');
  const problemsFile = join(dir, 'problems.json');
  const splitsFile = join(dir, 'pid_splits.json');
  const hint = 'Download ScienceQA (lupantech/ScienceQA: data/scienceqa/problems.json and pid_splits.json, images from its release) into this folder.';
  const [problems, splits] = await Promise.all([readText(join(root, 'problems.json'), problemsFile, hint), readText(join(root, 'pid_splits.json'), splitsFile, hint)]);
  const dataset = parseScienceQA(problems, splits, { split: options.split ?? 'test', ...(options.subset ? { subset: options.subset } : {}), problemsFile, splitsFile });
  const samples = await withImages(dataset.samples, root, options.checkImages ?? true, `Put the ScienceQA images into ${join(dir, 'images')} as <split>/<pid>/image.png (ScienceQA's image archives).`);
  return { ...dataset, samples };
}

/**
 * Load LLaVA-Bench-in-the-Wild (`DIR/questions.jsonl`, `DIR/answers_gpt4.jsonl`, `DIR/context.jsonl`
 * when present, `DIR/images/`; see {@link parseLlavaBench}).
 */
export async function loadLlavaBench(dir: string, options: LoadOptions = {}): Promise<OpenEndedDataset> {
  const root = await requireFolder(dir, 'LLaVA-Bench-in-the-Wild', 'questions.jsonl, answers_gpt4.jsonl, context.jsonl and images/');
  const hint = 'Download liuhaotian/llava-bench-in-the-wild (questions.jsonl, answers_gpt4.jsonl, context.jsonl, images/) into this folder.';
  const files = { questions: join(dir, 'questions.jsonl'), answers: join(dir, 'answers_gpt4.jsonl'), context: join(dir, 'context.jsonl') };
  const [questions, answers] = await Promise.all([readText(join(root, 'questions.jsonl'), files.questions, hint), readText(join(root, 'answers_gpt4.jsonl'), files.answers, hint)]);
  const context = (await kind(join(root, 'context.jsonl'))) === 'file' ? await readText(join(root, 'context.jsonl'), files.context, hint) : undefined;
  const dataset = parseLlavaBench({ questions, answers, ...(context !== undefined ? { context } : {}) }, files);
  const samples = await withImages(dataset.samples, root, options.checkImages ?? true, `Put the LLaVA-Bench-in-the-Wild images into ${join(dir, 'images')} (from liuhaotian/llava-bench-in-the-wild).`);
  return { ...dataset, samples };
}

/** Read a predictions JSONL file (see {@link parsePredictions}); `file` is named in errors as given. */
export async function readPredictions(file: string): Promise<PredictionRecord[]> {
  const text = await readText(resolve(file), file, 'Pass a JSONL file of predictions (one record per line).');
  return parsePredictions(text, file);
}

/** Load a multiple-choice dataset by name. */
export async function loadMultipleChoice(name: 'm3cot' | 'scienceqa', dir: string, options: LoadOptions & { readonly split?: string; readonly subset?: ScienceQaSubset } = {}): Promise<MultipleChoiceDataset> {
  if (name === 'm3cot') {
    if (options.subset !== undefined) throw new OptionError('A subset applies to ScienceQA only.', { hint: 'Leave the subset out for M3CoT.' });
    return loadM3CoT(dir, options);
  }
  return loadScienceQA(dir, options);
}

export { isRunFolder, loadSplitSamples, readRunFolder, reportRunFolder, type RunFolderReport, type RunFolderReportOptions } from './node-runs.js';

export { ResultsFile, hashFile, readJsonIfPresent, writeJsonAtomic, type ResultRecord, type ResultsState } from './node-run-files.js';
