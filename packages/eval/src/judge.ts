/**
 * The multiple-choice answer extractor of M3CoT (LightChen233/M3CoT `utils/metric.py`,
 * `judge_answer`), rule for rule, and ICoT's copy of it (jungao1106/ICoT `eval_scripts.py`), which
 * is the same without the `[Answer]` rule.
 * @module
 */
import { EvalDataError, type RecordLocation } from './errors.js';

/** `ALPHA_MAP` of `judge_answer`: the letters it can give a choice (six: A-F). */
export const ANSWER_LETTERS = ['A', 'B', 'C', 'D', 'E', 'F'] as const;

/** What {@link extractAnswer} returns when no rule finds an answer (`judge_answer`'s `pred`). */
export const FAILED = 'FAILED';

/**
 * Which copy of `judge_answer` to follow: `m3cot` (LightChen233/M3CoT `utils/metric.py`, the one
 * that runs) or `icot` (jungao1106/ICoT `eval_scripts.py`: no `[Answer]` rule).
 */
export type Extractor = 'm3cot' | 'icot';

/** The extractors, for option checks. */
export const EXTRACTORS: readonly Extractor[] = ['m3cot', 'icot'];

/** Options of {@link extractAnswer} and {@link judgeAnswer}. */
export interface ExtractOptions {
  /** Which copy of `judge_answer` (default `m3cot`). */
  readonly extractor?: Extractor;
  /** The record being judged, named in the error Python's IndexError becomes. */
  readonly location?: RecordLocation;
}

// `ALPHA_MAP[i]`: Python's IndexError (a seventh choice, or an integer answer outside -6..5)
// becomes a typed error naming the record.
function letterAt(index: number, what: string, location: RecordLocation | undefined): string {
  const letter = index >= 0 ? ANSWER_LETTERS[index] : ANSWER_LETTERS[ANSWER_LETTERS.length + index]; // Python's negative indices
  if (letter === undefined)
    throw new EvalDataError(`${what}: judge_answer maps indices to the six letters A-F only (ALPHA_MAP), so index ${index} has no letter (an IndexError in M3CoT's Python).`, {
      hint: 'Records scored with judge_answer need at most 6 choices and an integer answer in 0..5; fix the record or leave it out.',
      ...(location ? { location } : {}),
    });
  return letter;
}

/**
 * The answer `judge_answer` compares: an integer is mapped to its letter (`ALPHA_MAP[answer]`,
 * negative integers counting from F as in Python); a string stays as it is. A number that is not
 * an integer stays a number and `null` stays `null` (neither ever equals a predicted letter, as a
 * Python float or None never does).
 */
export function answerLetter(answer: string | number | null, location?: RecordLocation): string | number | null {
  return typeof answer === 'number' && Number.isInteger(answer) ? letterAt(answer, `answer ${answer}`, location) : answer;
}

// re.sub(r'[\n.,!?]', ' ', text).split(" "): only these five characters become spaces, and the
// text is split on single spaces (tabs and carriage returns stay inside words, "" tokens appear).
function standaloneWords(text: string): Set<string> {
  return new Set(text.replace(/[\n.,!?]/g, ' ').split(' '));
}

/**
 * The letter `judge_answer` predicts for `text` (`pred`), or {@link FAILED}. The rules, in order
 * (`m3cot`, LightChen233/M3CoT `utils/metric.py`):
 * 1. if `[Answer]` occurs, only the text after its last occurrence counts, cut before the first
 *    `[Rationale]` and then before the first `[Context]` (not in the `icot` copy);
 * 2. the last `(X)` with X an ASCII letter, upper-cased (any letter, not only the choices');
 * 3. else the last choice (highest index) whose text occurs in the text, both lower-cased (an
 *    empty choice always occurs);
 * 4. else, after `\n . , ! ?` become spaces and the text is split on single spaces, the last of the
 *    first `choices.length` letters A-F that stands alone as a word;
 * 5. else the same with lower-case letters (giving the upper-case letter);
 * 6. else {@link FAILED}.
 * Rules 3-5 give letters by choice index through A-F: a seventh choice is an error where Python
 * raises IndexError (rule 4 always reaches it; rule 3 only when that choice occurs).
 */
export function extractAnswer(text: string, choices: readonly string[], options: ExtractOptions = {}): string {
  const location = options.location;
  if ((options.extractor ?? 'm3cot') === 'm3cot' && text.includes('[Answer]')) {
    text = text.slice(text.lastIndexOf('[Answer]') + '[Answer]'.length);
    text = text.split('[Rationale]')[0]!.split('[Context]')[0]!;
  }
  let last: string | undefined;
  for (const match of text.matchAll(/\(([A-Za-z])\)/g)) last = match[1];
  if (last !== undefined) return last.toUpperCase();

  const lowered = text.toLowerCase();
  let found: string | undefined;
  choices.forEach((choice, i) => {
    if (lowered.includes(choice.toLowerCase())) found = letterAt(i, `choice ${i + 1} of ${choices.length}`, location);
  });
  if (found !== undefined) return found;

  const words = standaloneWords(text);
  for (let i = 0; i < choices.length; i++) {
    const letter = letterAt(i, `choice ${i + 1} of ${choices.length}`, location);
    if (words.has(letter)) found = letter;
  }
  if (found !== undefined) return found;
  for (let i = 0; i < choices.length; i++) {
    const letter = ANSWER_LETTERS[i]!; // every index below choices.length has a letter, or rule 4 threw
    if (words.has(letter.toLowerCase())) found = letter;
  }
  return found ?? FAILED;
}

/**
 * `judge_answer(text, choices, answer)`: whether the letter {@link extractAnswer} predicts equals
 * the answer (`answerLetter(answer)`: a letter, or an integer mapped to A-F).
 */
export function judgeAnswer(text: string, choices: readonly string[], answer: string | number | null, options: ExtractOptions = {}): boolean {
  const expected = answerLetter(answer, options.location);
  return extractAnswer(text, choices, options) === expected;
}
