/**
 * Helpers for triggers with options (the attention-shift and probability-gap triggers, and yours):
 * checking a plain options object, and spacing insertions apart by generated tokens.
 * @module
 */
import { OptionError } from './errors.js';
import type { TriggerContext } from './spec/trigger.js';

/**
 * Check that `options` (of `owner`, e.g. `attention-shift trigger`, `ads selector`) is a plain
 * object whose keys are all in `known`; a misspelt key fails
 * instead of being ignored. Throws {@link OptionError} naming the key and the known ones.
 */
export function checkOptionKeys(owner: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`The ${owner}'s options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`, {
      hint: `Pass e.g. {} for the defaults; known options: ${known.join(', ')}.`,
    });
  for (const key of Object.keys(options))
    if (!known.includes(key))
      throw new OptionError(`Unknown option '${key}' of the ${owner}.`, { hint: `Known options: ${known.join(', ')}.` });
  return options as Record<string, unknown>;
}

/** A value as an error message shows it (numbers as JavaScript writes them, so NaN reads NaN). */
export function showOptionValue(value: unknown): string {
  return typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value);
}

/** The value of `key` in checked options, or `fallback` when it is absent (null is a value, and fails its check). */
export function optionOr(given: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return given[key] === undefined ? fallback : given[key];
}

/**
 * Check a minimum token count option (an integer >= 1; 1 = no minimum, the papers' behaviour).
 * Throws {@link OptionError} naming the option.
 */
export function checkMinTokens(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new OptionError(`${name} must be an integer >= 1, got ${showOptionValue(value)}.`, {
      hint: "Use 1 for no minimum (the paper's behaviour), or e.g. 16.",
    });
  return value;
}

/**
 * Per-run bookkeeping of where insertions happened, counted in generated tokens: call `allows` once
 * per token, before deciding, with the token's context.
 */
export type InsertionSpacing = (context: TriggerContext) => boolean;

/**
 * Spacing of insertions: at least `beforeFirst` generated tokens before the first insertion, and
 * at least `between` generated tokens after an insertion before the next one. Insertions are seen
 * through `context.insertions`, the loop's count: when it grew, an insertion came right before
 * this token (after the previous one, or after the prompt for the first token). So a fire that
 * inserted nothing (the run's budget was spent, or the selector chose no patch) starts no gap, and
 * the run's after-prompt insertion counts as one after token -1.
 */
export function insertionSpacing(beforeFirst: number, between: number): InsertionSpacing {
  /** Step of the token the last insertion followed (-1: right after the prompt). */
  let lastInsertion: number | undefined;
  let seen = 0;
  return (context) => {
    if (context.insertions > seen) {
      lastInsertion = context.step - 1;
      seen = context.insertions;
    }
    // after the token of step t, t + 1 tokens have been generated; t - s since an insertion after step s
    return lastInsertion === undefined ? context.step + 1 >= beforeFirst : context.step - lastInsertion >= between;
  };
}
