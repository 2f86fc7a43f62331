import { OptionError, type TriggerContext } from '@icot/core';
import { shown } from './options.js';

/**
 * Check a minimum token count option (an integer >= 1; 1 = no minimum, the papers' behaviour).
 * Throws {@link OptionError} naming the option.
 */
export function checkMinTokens(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new OptionError(`${name} must be an integer >= 1, got ${shown(value)}.`, {
      hint: "Use 1 for no minimum (the paper's behaviour), or e.g. 16.",
    });
  return value;
}

/** Per-run bookkeeping of where insertions happened, counted in generated tokens. */
export interface InsertionSpacing {
  /**
   * Whether an insertion right after the token of `context` keeps the minimum spacing. Call it
   * exactly once per token, before deciding.
   */
  allows(context: TriggerContext): boolean;
  /** Record that the trigger fired on the token of `step`. */
  fired(step: number): void;
}

/**
 * Spacing of insertions: at least `beforeFirst` generated tokens before the first insertion, and
 * at least `between` generated tokens after an insertion before the next one. An insertion is
 * seen through `context.insertions` (the loop's count), so a fire that inserted nothing (the
 * budget was spent, or the selector chose no patch) does not count; an insertion this trigger
 * did not ask for (the run's after-prompt insertion) counts as one right before the token it
 * precedes.
 */
export function insertionSpacing(beforeFirst: number, between: number): InsertionSpacing {
  /** Step of the token the last insertion followed (-1: right after the prompt). */
  let lastInsertion: number | undefined;
  let seen = 0;
  let firedAt: number | undefined;
  return {
    allows(context) {
      if (context.insertions > seen) {
        lastInsertion = firedAt ?? context.step - 1;
        seen = context.insertions;
      }
      firedAt = undefined;
      // after the token of step t, t + 1 tokens have been generated; t - s since an insertion after step s
      return lastInsertion === undefined ? context.step + 1 >= beforeFirst : context.step - lastInsertion >= between;
    },
    fired(step) {
      firedAt = step;
    },
  };
}
