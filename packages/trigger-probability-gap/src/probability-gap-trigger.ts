import { checkMinTokens, checkOptionKeys, insertionSpacing, OptionError, optionOr, showOptionValue as shown, type TriggerContext, type TriggerV2 } from '@icot/core';

/**
 * Which tokens end a sentence:
 * - `'punctuation'`: a token whose text has a line break, or ends with `.` `!` `?` `。` `！` `？`
 *   (closing quotes or brackets and spaces after it allowed: `."`, `?)`, `. `);
 * - `'period'`: a token whose text is exactly `.` (what DaP-ICoT's code checks: Qwen2's token 13);
 * - `{ tokenIds }`: these token ids.
 */
export type SentenceEnd = 'punctuation' | 'period' | { readonly tokenIds: readonly number[] };

/**
 * Options of {@link createProbabilityGapTrigger}: plain JSON (a run description can carry them).
 * Every field is optional; the defaults are {@link PROBABILITY_GAP_DEFAULTS}.
 */
export interface ProbabilityGapTriggerOptions {
  /**
   * Fire at a sentence end when the mean top-1 minus top-2 probability over the sentence's
   * tokens is below this (in (0, 1]). Default 0.2, DaP-ICoT's `prob_diff_threshold`.
   */
  readonly threshold?: number;
  /** What ends a sentence (default `'punctuation'`); see {@link SentenceEnd}. */
  readonly sentenceEnd?: SentenceEnd;
  /**
   * Generated tokens before the first insertion may happen (an integer >= 1; 1 = no minimum, as
   * in DaP-ICoT). Default 16 (icot's choice; see the README).
   */
  readonly minTokensBeforeFirst?: number;
  /**
   * Generated tokens after an insertion before the next one may happen (an integer >= 1; 1 = no
   * minimum, as in DaP-ICoT). Default 16 (icot's choice; see the README).
   */
  readonly minTokensBetween?: number;
}

/** The default options: DaP-ICoT's threshold, sentence ends by punctuation or line break, and icot's minimum spacing. */
export const PROBABILITY_GAP_DEFAULTS = {
  threshold: 0.2,
  sentenceEnd: 'punctuation',
  minTokensBeforeFirst: 16,
  minTokensBetween: 16,
} as const satisfies Required<ProbabilityGapTriggerOptions>;

const OPTION_KEYS = Object.keys(PROBABILITY_GAP_DEFAULTS);

/** A sentence-ending mark at the end of a token's text, then closing quotes or brackets, then spaces. */
const ENDS_WITH_SENTENCE_MARK = /[.!?。！？]["'”’)\]）」』]*[ \t]*$/u;

/** Whether `text` ends a sentence by the `'punctuation'` rule: a line break anywhere, or a sentence mark at its end. */
export function endsSentence(text: string): boolean {
  return text.includes('\n') || text.includes('\r') || ENDS_WITH_SENTENCE_MARK.test(text);
}

function sentenceEndTest(sentenceEnd: unknown): { test: (context: TriggerContext) => boolean; label: string } {
  const hint = "Use 'punctuation' (. ! ? 。 or a line break), 'period' (a token that is exactly '.'), or { tokenIds: [...] }.";
  if (sentenceEnd === 'punctuation') return { test: (c) => endsSentence(c.tokenText), label: 'punctuation' };
  if (sentenceEnd === 'period') return { test: (c) => c.tokenText === '.', label: 'period' };
  if (sentenceEnd !== null && typeof sentenceEnd === 'object' && !Array.isArray(sentenceEnd) && Object.keys(sentenceEnd).length === 1 && 'tokenIds' in sentenceEnd) {
    const ids = (sentenceEnd as { tokenIds: unknown }).tokenIds;
    if (!Array.isArray(ids) || ids.length === 0) throw new OptionError(`sentenceEnd.tokenIds must be a non-empty list of token ids, got ${shown(ids)}.`, { hint });
    for (const id of ids as unknown[])
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new OptionError(`sentenceEnd.tokenIds has ${shown(id)}, which is not a token id (an integer >= 0).`, { hint });
    const set = new Set(ids as number[]);
    return { test: (c) => set.has(c.token), label: `ids[${[...set].join(',')}]` };
  }
  throw new OptionError(`sentenceEnd must be 'punctuation', 'period' or { tokenIds: [...] }, got ${shown(sentenceEnd)}.`, { hint });
}

/**
 * DaP-ICoT's trigger (arXiv 2603.21754, github.com/67L1/DaP-ICoT): at each sentence end, fire
 * when the model was unsure over the sentence - the mean, over the sentence's tokens (those after
 * the previous sentence end, up to and including this one), of the top-1 minus top-2 probability
 * of the distribution each token was drawn from is below `threshold`. It reads the loop's
 * `probabilityGap` signal. An insertion follows the sentence-end token; `minTokensBeforeFirst`
 * and `minTokensBetween` keep insertions apart (icot's addition: a sentence end inside the
 * minimum still closes its sentence, without an insertion).
 *
 * Throws {@link OptionError} for options that are not of the documented form.
 */
export function createProbabilityGapTrigger(options: ProbabilityGapTriggerOptions = {}): TriggerV2 {
  const given = checkOptionKeys('probability-gap trigger', options, OPTION_KEYS);
  const threshold = optionOr(given, 'threshold', PROBABILITY_GAP_DEFAULTS.threshold);
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1))
    throw new OptionError(`threshold must be a number in (0, 1], got ${shown(threshold)}.`, {
      hint: "It bounds the sentence's mean top-1 minus top-2 probability: DaP-ICoT's code uses 0.2.",
    });
  const sentenceEnd = sentenceEndTest(optionOr(given, 'sentenceEnd', PROBABILITY_GAP_DEFAULTS.sentenceEnd));
  const minTokensBeforeFirst = checkMinTokens('minTokensBeforeFirst', optionOr(given, 'minTokensBeforeFirst', PROBABILITY_GAP_DEFAULTS.minTokensBeforeFirst));
  const minTokensBetween = checkMinTokens('minTokensBetween', optionOr(given, 'minTokensBetween', PROBABILITY_GAP_DEFAULTS.minTokensBetween));
  return {
    specificationVersion: 'v2',
    name: `probability-gap(threshold=${threshold},end=${sentenceEnd.label},first=${minTokensBeforeFirst},gap=${minTokensBetween})`,
    signals: { probabilityGap: true },
    start() {
      const spaced = insertionSpacing(minTokensBeforeFirst, minTokensBetween);
      /** Sum and count of the probability gaps of the current sentence's tokens. */
      let sum = 0;
      let count = 0;
      return {
        onToken(context) {
          const allowed = spaced(context);
          const gap = context.signals.probabilityGap;
          if (gap !== undefined) {
            sum += gap;
            count += 1;
          }
          if (!sentenceEnd.test(context)) return false;
          const fire = allowed && count > 0 && sum / count < threshold;
          sum = 0;
          count = 0;
          return fire;
        },
      };
    },
  };
}
