import type { AttentionShiftTriggerOptions } from './attention-shift-trigger.js';

/**
 * Settings under which the trigger fires on the embedded demo model (`@icot/demo-model`, a tiny
 * Qwen2-VL with RANDOM weights and 2 decoder layers) with greedy decoding: its attention on the
 * image moves by a few hundredths per token (between about 0.18 and 0.43 over its first 128
 * greedy tokens, the largest one-step rise about 0.15), so AIM-CoT's delta of 0.5 or 0.2 never
 * fires there, and its 2 layers cannot give the paper's last 3. These settings show the
 * mechanics on that model; they are not a setting for real models (use the defaults, or
 * `delta: 0.2` for ScienceQA / LLaVA-W-like data).
 */
export const ATTENTION_SHIFT_DEMO_SETTINGS = {
  delta: 0.05,
  layers: { last: 2 },
  minTokensBeforeFirst: 16,
  minTokensBetween: 16,
} as const satisfies Required<AttentionShiftTriggerOptions>;
