/**
 * `icot eval score`: accuracy (M3CoT, ScienceQA) or ROUGE-L (LLaVA-W) of a predictions file.
 * @module
 */
import { parseArgs } from 'node:util';
import { JSON_SCHEMA_VERSION, OptionError } from '@icot/core';
import { EXTRACTORS, scoreMultipleChoice, scoreRougeL, type Extractor, type MultipleChoiceScore, type RougeScore, type ScienceQaSubset } from '@icot/eval';
import { loadLlavaBench, loadM3CoT, loadScienceQA, readPredictions } from '@icot/eval/node';
import type { CommandIo } from '../run.js';

/** Help of `icot eval score`. */
export const SCORE_HELP = `Usage: icot eval score --dataset <name> --predictions <file> [--data <dir>] [options]

Score a predictions file (JSONL) as the papers' code scores it.

  --dataset m3cot|scienceqa   accuracy with M3CoT's judge_answer (LightChen233/M3CoT utils/metric.py)
                              and MetricData.metric's totals by domain and topic
  --dataset llava-w           ROUGE-L against GPT-4's answers as pycocoevalcap's Rouge computes it on
                              the raw strings, the mean over questions and per category

Options
  --predictions <file>   one record per line: M3CoT prediction files (id, answer, choices, domain,
                         topic, messages: the last message is the prediction), icot results (id,
                         prediction), ICoT outputs (pred), LLaVA answer files (question_id, text)
  --data <dir>           the dataset in its published layout; required for scienceqa and llava-w.
                         m3cot: <dir>/<split>.jsonl (the layout the ICoT code reads). Without it,
                         every record counts with its own choices, answer, domain and topic; with
                         it, records are matched to the split by id as M3CoT's evaluate.py does
                         (first record of an id, ids outside the split skipped, answer, domain and
                         topic from the dataset, choices from the record when it has them).
                         scienceqa: problems.json + pid_splits.json (domain = subject).
                         llava-w: questions.jsonl + answers_gpt4.jsonl.
  --split <name>         the split of --data (default test; m3cot and scienceqa)
  --subset image|all     ScienceQA questions: with an image (default, as ICoT reports) or all
  --extractor m3cot|icot judge_answer as in M3CoT (default) or ICoT's copy (eval_scripts.py, no
                         [Answer] rule)
  --json                 print {"schemaVersion", "dataset", "total", "correct", "accuracy",
                         "byDomain", "byTopic", ...} or {"schemaVersion", "dataset", "total",
                         "rougeL", "byCategory", ...}; fractions, not percentages
  --help, -h             show this help

Images are not needed for scoring. Bad input (a missing file, a malformed record) exits with 2.
`;

const SPEC = {
  dataset: { type: 'string' },
  predictions: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  subset: { type: 'string' },
  extractor: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = Partial<Record<keyof typeof SPEC, string | boolean>>;

function parse(args: readonly string[]): Values {
  try {
    return parseArgs({ args: [...args], options: SPEC, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new OptionError((error as Error).message.replace(/\. To specify.*$/s, '.'), { hint: "Run 'icot eval score --help' for the options." });
  }
}

function stringOption(values: Values, name: keyof typeof SPEC): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new OptionError(`--${name} is empty.`, { hint: "Run 'icot eval score --help' for its values." });
  return value;
}

function oneOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[]): T | undefined {
  if (value !== undefined && !(allowed as readonly string[]).includes(value)) throw new OptionError(`--${name} '${value}' is not supported.`, { hint: `Use one of: ${allowed.join(', ')}.` });
  return value as T | undefined;
}

const DATASETS = ['m3cot', 'scienceqa', 'llava-w'] as const;
const NAMES: Record<(typeof DATASETS)[number], string> = { m3cot: 'M3CoT', scienceqa: 'ScienceQA', 'llava-w': 'LLaVA-Bench-in-the-Wild' };

const percent = (fraction: number): string => (fraction * 100).toFixed(2);

function table(rows: readonly (readonly string[])[], rightAligned: readonly number[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

function skippedLine(skipped: { outsideSplit: number; duplicates: number }): string {
  const parts = [
    skipped.outsideSplit ? `${skipped.outsideSplit} record${skipped.outsideSplit === 1 ? '' : 's'} outside the split` : '',
    skipped.duplicates ? `${skipped.duplicates} repeated id${skipped.duplicates === 1 ? '' : 's'} (the first record counts)` : '',
  ].filter(Boolean);
  return parts.length ? `skipped: ${parts.join(', ')}\n` : '';
}

function multipleChoiceText(title: string, score: MultipleChoiceScore, extractor: Extractor): string {
  const rows: string[][] = [['domain', 'topic', 'correct', 'total', 'accuracy']];
  for (const [domain, tally] of Object.entries(score.byDomain)) {
    rows.push([domain, '', String(tally.correct), String(tally.total), `${percent(tally.accuracy)}%`]);
    for (const [topic, t] of Object.entries(score.byTopic[domain] ?? {})) rows.push(['', topic, String(t.correct), String(t.total), `${percent(t.accuracy)}%`]);
  }
  rows.push(['all', '', String(score.correct), String(score.total), `${percent(score.accuracy)}%`]);
  return `${title}: ${score.correct} of ${score.total} correct, accuracy ${percent(score.accuracy)}% (judge_answer, ${extractor} copy)\n${skippedLine(score.skipped)}\n${table(rows, [2, 3, 4])}\n`;
}

function rougeText(title: string, score: RougeScore): string {
  const rows: string[][] = [['category', 'questions', 'ROUGE-L']];
  for (const [category, t] of Object.entries(score.byCategory)) rows.push([category, String(t.total), percent(t.rougeL)]);
  rows.push(['all', String(score.total), percent(score.rougeL)]);
  const missing = score.missing.length ? `unanswered: ${score.missing.length} question${score.missing.length === 1 ? '' : 's'} (${score.missing.slice(0, 10).join(', ')}${score.missing.length > 10 ? ', ...' : ''})\n` : '';
  return `${title}: ROUGE-L ${percent(score.rougeL)} over ${score.total} question${score.total === 1 ? '' : 's'} (pycocoevalcap Rouge on raw strings, x100)\n${skippedLine(score.skipped)}${missing}\n${table(rows, [1, 2])}\n`;
}

/** `icot eval score ...`. Returns the exit code; bad input throws typed errors (exit 2 in main). */
export async function scoreCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const values = parse(args);
  const dataset = oneOf(stringOption(values, 'dataset'), 'dataset', DATASETS);
  if (dataset === undefined) throw new OptionError('--dataset is required.', { hint: `Use one of: ${DATASETS.join(', ')}.` });
  const predictionsFile = stringOption(values, 'predictions');
  if (predictionsFile === undefined) throw new OptionError('--predictions is required.', { hint: 'Pass the JSONL file of predictions to score.' });
  const data = stringOption(values, 'data');
  const split = stringOption(values, 'split');
  const subset = oneOf<ScienceQaSubset>(stringOption(values, 'subset'), 'subset', ['image', 'all']);
  const extractor = oneOf<Extractor>(stringOption(values, 'extractor'), 'extractor', EXTRACTORS);
  const json = values.json === true;

  if (dataset !== 'm3cot' && data === undefined)
    throw new OptionError(`--dataset ${dataset} needs --data <dir>.`, {
      hint: dataset === 'scienceqa' ? 'Pass the ScienceQA folder (problems.json, pid_splits.json): the answers come from it.' : 'Pass the LLaVA-Bench-in-the-Wild folder (questions.jsonl, answers_gpt4.jsonl): the references come from it.',
    });
  if (split !== undefined && data === undefined) throw new OptionError('--split needs --data.', { hint: 'Pass the dataset folder with --data, or leave --split out.' });
  if (dataset === 'llava-w' && (split !== undefined || extractor !== undefined)) throw new OptionError(`--${split !== undefined ? 'split' : 'extractor'} does not apply to llava-w.`, { hint: 'LLaVA-W is scored with ROUGE-L over all its questions.' });
  if (subset !== undefined && dataset !== 'scienceqa') throw new OptionError('--subset applies to scienceqa only.', { hint: 'Leave --subset out.' });

  // relative paths mean the folder the command was typed in (process.cwd(); the workspace wrapper runs there)
  const predictions = await readPredictions(predictionsFile);
  const name = NAMES[dataset];
  if (dataset === 'llava-w') {
    const bench = await loadLlavaBench(data!, { checkImages: false });
    const score = scoreRougeL(predictions, bench.samples);
    if (json) {
      const document = { schemaVersion: JSON_SCHEMA_VERSION, dataset, total: score.total, rougeL: score.rougeL, byCategory: score.byCategory, skipped: score.skipped, missing: score.missing };
      io.stdout.write(`${JSON.stringify(document)}\n`);
    } else io.stdout.write(rougeText(`${name} (${data})`, score));
    return 0;
  }
  const samples =
    data === undefined
      ? undefined
      : dataset === 'm3cot'
        ? (await loadM3CoT(data, { checkImages: false, ...(split ? { split } : {}) })).samples
        : (await loadScienceQA(data, { checkImages: false, ...(split ? { split } : {}), ...(subset ? { subset } : {}) })).samples;
  const score = scoreMultipleChoice(predictions, { ...(samples ? { dataset: samples } : {}), ...(extractor ? { extractor } : {}) });
  if (json) {
    const document = {
      schemaVersion: JSON_SCHEMA_VERSION,
      dataset,
      total: score.total,
      correct: score.correct,
      accuracy: score.accuracy,
      byDomain: score.byDomain,
      byTopic: score.byTopic,
      extractor: extractor ?? 'm3cot',
      skipped: score.skipped,
    };
    io.stdout.write(`${JSON.stringify(document)}\n`);
  } else {
    const title = data === undefined ? `${name} (each record's own choices, answer, domain and topic)` : `${name} ${split ?? 'test'} split of ${data}${dataset === 'scienceqa' ? ` (${subset ?? 'image'} subset)` : ''}`;
    io.stdout.write(multipleChoiceText(title, score, extractor ?? 'm3cot'));
  }
  return 0;
}
