import { OptionError } from './errors.js';
import type { TriggerContext, TriggerRun, TriggerV2 } from './spec/trigger.js';

/** Settings of {@link createSignalTrigger}. */
export interface SignalTriggerSettings {
  /**
   * What counts as a signal token: `'newline'` = any token whose text contains a line break (the
   * paper's signal), or an explicit list of token ids.
   */
  readonly signal?: 'newline' | { readonly tokenIds: readonly number[] };
  /** Fire on every `every`-th signal token (the official Qwen2-VL code uses 2). */
  readonly every?: number;
}

/**
 * The paper's trigger: count signal tokens and fire on every `every`-th one. The loop enforces
 * the insertion budget; this trigger keeps counting after the budget is spent. It asks for no
 * per-step signals. (An insertion right after the prompt is the run's `insertAfterPrompt`.)
 */
export function createSignalTrigger(settings: SignalTriggerSettings = {}): TriggerV2 {
  const every = settings.every ?? 1;
  if (!Number.isInteger(every) || every < 1)
    throw new OptionError(`every must be an integer >= 1, got ${every}.`, { hint: 'Use 1 to fire on every signal token, 2 for every second one.' });
  const signal = settings.signal ?? 'newline';
  const ids = signal === 'newline' ? undefined : new Set(signal.tokenIds);
  if (ids && ids.size === 0)
    throw new OptionError('The signal token id list is empty.', { hint: "Pass at least one token id, or use the 'newline' signal." });
  const isSignal = (context: TriggerContext): boolean =>
    ids ? ids.has(context.token) : context.tokenText.includes('\n');
  return {
    specificationVersion: 'v2',
    name: ids ? `signal-ids(every=${every})` : `newline(every=${every})`,
    start(): TriggerRun {
      let count = 0;
      return {
        onToken(context) {
          if (!isSignal(context)) return false;
          count += 1;
          return count % every === 0;
        },
      };
    },
  };
}
