import type { ProbabilityGapTriggerOptions } from './probability-gap-trigger.js';

/**
 * Settings under which the trigger fires on the embedded demo model (`@icot/demo-model`, a tiny
 * Qwen2-VL with RANDOM weights) with greedy decoding: that model never writes `.`, `!`, `?` or a
 * line break, so no sentence ever ends by punctuation. As in the demo's signal trigger, the token
 * it writes most (`a`, id 64: `demoModel.signalTokenIds`) stands in for a sentence end. The
 * threshold stays DaP-ICoT's 0.2 (the random model's top-1 minus top-2 probability is below
 * 0.06 at every token, so every "sentence" qualifies). These settings show the mechanics on that
 * model; on real models use the defaults.
 */
export const PROBABILITY_GAP_DEMO_SETTINGS = {
  threshold: 0.2,
  sentenceEnd: { tokenIds: [64] },
  minTokensBeforeFirst: 16,
  minTokensBetween: 16,
} as const satisfies Required<ProbabilityGapTriggerOptions>;
