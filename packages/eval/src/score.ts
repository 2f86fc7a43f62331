/**
 * Accuracy as M3CoT's `MetricData.metric` computes it, and ROUGE-L over LLaVA-W.
 * @module
 */
import type { MultipleChoiceSample, OpenEndedSample } from './datasets.js';
import { EvalDataError } from './errors.js';
import { judgeAnswer, type Extractor } from './judge.js';
import type { PredictionRecord } from './predictions.js';
import { numpyMean, rougeL } from './rouge.js';

/** Correct of total. */
export interface Tally {
  readonly total: number;
  readonly correct: number;
  /** `correct / total` (a fraction). */
  readonly accuracy: number;
}

/** Records left out of a score, and why. */
export interface SkippedCounts {
  /** Records whose id is not in the dataset's split (only with a dataset). */
  readonly outsideSplit: number;
  /** Records whose id came earlier in the file (only with a dataset: the first one counts). */
  readonly duplicates: number;
}

/** Accuracy over a predictions file, overall, by domain and by domain and topic. */
export interface MultipleChoiceScore extends Tally {
  /** `{domain: {total, correct, accuracy}}`. */
  readonly byDomain: Readonly<Record<string, Tally>>;
  /** `{domain: {topic: {total, correct, accuracy}}}`. */
  readonly byTopic: Readonly<Record<string, Readonly<Record<string, Tally>>>>;
  readonly skipped: SkippedCounts;
}

/** Options of {@link scoreMultipleChoice}. */
export interface MultipleChoiceScoreOptions {
  /**
   * The split to match records to (M3CoT's `evaluate.py` passes the test split as `map`). Without
   * it, every record counts with its own choices, answer, domain and topic.
   */
  readonly dataset?: readonly MultipleChoiceSample[];
  /** Which copy of `judge_answer` (default `m3cot`). */
  readonly extractor?: Extractor;
}

const DOMAIN_ORDER = ['science', 'commonsense', 'mathematics']; // M3CoT utils/common_tool.py sort_metric

/** Python's sort of str keys: by code point. */
export function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Domains in M3CoT's `sort_metric` order (science, commonsense, mathematics), then others by code point. */
export function orderDomains(domains: Iterable<string>): string[] {
  const rank = (d: string): number => (DOMAIN_ORDER.includes(d) ? DOMAIN_ORDER.indexOf(d) : DOMAIN_ORDER.length);
  return [...domains].sort((a, b) => rank(a) - rank(b) || byCodePoint(a, b));
}

function tally(total: number, correct: number): Tally {
  return { total, correct, accuracy: correct / total };
}

/**
 * Score multiple-choice predictions as M3CoT's `MetricData.metric` does (LightChen233/M3CoT
 * `utils/metric.py`), with `judge_answer` ({@link judgeAnswer}) on each record's text:
 * - without `dataset`, every record counts (duplicates too) with its own `choices`, `answer`,
 *   `domain` and `topic`, all required;
 * - with `dataset` (`evaluate.py`'s `map`): only the first record of each id counts, records whose
 *   id is not in the split are skipped, `answer`, `domain` and `topic` come from the dataset, and
 *   `choices` from the record when it has them (else from the dataset).
 * Accuracy is `correct / total` per domain and topic and overall. Domains are ordered science,
 * commonsense, mathematics (M3CoT's `sort_metric`), then others; topics by name. Nothing scored is
 * an {@link EvalDataError} (Python divides by zero).
 */
export function scoreMultipleChoice(predictions: readonly PredictionRecord[], options: MultipleChoiceScoreOptions = {}): MultipleChoiceScore {
  const byId = options.dataset ? new Map(options.dataset.map((s) => [s.id, s] as const)) : undefined;
  const counts = new Map<string, Map<string, { total: number; correct: number }>>();
  const seen = new Set<string>();
  let outsideSplit = 0;
  let duplicates = 0;
  for (const record of predictions) {
    let choices = record.choices;
    let answer = record.answer;
    let domain = record.domain;
    let topic = record.topic;
    if (byId) {
      if (seen.has(record.id)) {
        duplicates++;
        continue;
      }
      seen.add(record.id);
      const sample = byId.get(record.id);
      if (!sample) {
        outsideSplit++;
        continue;
      }
      domain = sample.domain;
      topic = sample.topic;
      choices ??= sample.choices;
      answer = sample.answer;
    } else {
      const missing = (['choices', 'answer', 'domain', 'topic'] as const).filter((field) => record[field] === undefined);
      if (missing.length)
        throw new EvalDataError(
          `${record.location.file} line ${record.location.line} (id '${record.id}') has no ${missing.map((f) => `"${f}"`).join(', ')}; without a dataset every record needs its own choices, answer, domain and topic (M3CoT's MetricData.metric without a map raises KeyError).`,
          { hint: 'Pass the dataset (--data DIR) so they come from its split by id, or add them to the record.', location: record.location },
        );
    }
    const correct = judgeAnswer(record.text, choices!, answer!, { ...(options.extractor ? { extractor: options.extractor } : {}), location: record.location });
    let topics = counts.get(domain!);
    if (!topics) counts.set(domain!, (topics = new Map()));
    const cell = topics.get(topic!) ?? { total: 0, correct: 0 };
    cell.total++;
    if (correct) cell.correct++;
    topics.set(topic!, cell);
  }
  let total = 0;
  let correct = 0;
  const byDomain: Record<string, Tally> = {};
  const byTopic: Record<string, Record<string, Tally>> = {};
  for (const domain of orderDomains(counts.keys())) {
    const topics = counts.get(domain)!;
    let domainTotal = 0;
    let domainCorrect = 0;
    const cells: Record<string, Tally> = {};
    for (const topic of [...topics.keys()].sort(byCodePoint)) {
      const cell = topics.get(topic)!;
      cells[topic] = tally(cell.total, cell.correct);
      domainTotal += cell.total;
      domainCorrect += cell.correct;
    }
    byDomain[domain] = tally(domainTotal, domainCorrect);
    byTopic[domain] = cells;
    total += domainTotal;
    correct += domainCorrect;
  }
  if (total === 0)
    throw new EvalDataError(
      byId
        ? `None of the ${predictions.length} prediction records has an id in the dataset's split (${byId.size} samples), so there is nothing to score.`
        : 'The predictions file holds no records, so there is nothing to score.',
      { hint: byId ? 'Check that the predictions answer this dataset and split (--dataset, --data, --split).' : 'Score a file with one JSON record per line.' },
    );
  return { ...tally(total, correct), byDomain, byTopic, skipped: { outsideSplit, duplicates } };
}

/** Mean ROUGE-L over a set of questions. */
export interface RougeTally {
  readonly total: number;
  /** Mean ROUGE-L F-score over the questions (a fraction). */
  readonly rougeL: number;
}

/** ROUGE-L over LLaVA-W predictions: the mean over questions, and per category. */
export interface RougeScore extends RougeTally {
  /** `{category: {total, rougeL}}`, categories in the order the questions file first names them. */
  readonly byCategory: Readonly<Record<string, RougeTally>>;
  /** Each scored question's ROUGE-L, in the questions file's order. */
  readonly perQuestion: readonly { readonly id: string; readonly category: string; readonly rougeL: number }[];
  readonly skipped: SkippedCounts;
  /** Questions of the dataset with no prediction. */
  readonly missing: readonly string[];
}

/**
 * Score open-ended predictions with ROUGE-L against the dataset's references (LLaVA-W: GPT-4's
 * answers), as pycocoevalcap's `Rouge` computes it on the raw strings ({@link rougeL}). Records
 * are matched to questions by id, the first record of an id counts, unknown ids are skipped; the
 * score is numpy's mean over the questions answered (`Rouge.compute_score`), and the same mean
 * per category. No answered question is an {@link EvalDataError}.
 */
export function scoreRougeL(predictions: readonly PredictionRecord[], dataset: readonly OpenEndedSample[]): RougeScore {
  const answers = new Map<string, string>();
  let outsideSplit = 0;
  let duplicates = 0;
  const ids = new Set(dataset.map((s) => s.id));
  for (const record of predictions) {
    if (answers.has(record.id)) duplicates++;
    else if (!ids.has(record.id)) outsideSplit++;
    else answers.set(record.id, record.text);
  }
  const perQuestion: { id: string; category: string; rougeL: number }[] = [];
  const missing: string[] = [];
  for (const sample of dataset) {
    const text = answers.get(sample.id);
    if (text === undefined) missing.push(sample.id);
    else perQuestion.push({ id: sample.id, category: sample.category, rougeL: rougeL(text, [sample.reference]) });
  }
  if (perQuestion.length === 0)
    throw new EvalDataError(`None of the ${predictions.length} prediction records answers a question of the dataset (${dataset.length} questions), so there is nothing to score.`, {
      hint: 'Check that the predictions answer this dataset: LLaVA answer files match questions by "question_id".',
    });
  const categories = [...new Set(perQuestion.map((q) => q.category))];
  const byCategory: Record<string, RougeTally> = {};
  for (const category of categories) {
    const scores = perQuestion.filter((q) => q.category === category).map((q) => q.rougeL);
    byCategory[category] = { total: scores.length, rougeL: numpyMean(scores) };
  }
  return { total: perQuestion.length, rougeL: numpyMean(perQuestion.map((q) => q.rougeL)), byCategory, perQuestion, skipped: { outsideSplit, duplicates }, missing };
}
