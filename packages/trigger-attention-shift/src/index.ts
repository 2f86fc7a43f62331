/**
 * AIM-CoT's Dynamic Attention-shift Trigger for ICoT: insert when the attention on the query
 * image rises by more than delta from one generated token to the next.
 * @module
 */
export { ATTENTION_SHIFT_DEFAULTS, createAttentionShiftTrigger, type AttentionShiftTriggerOptions } from './attention-shift-trigger.js';
export { ATTENTION_SHIFT_DEMO_SETTINGS } from './demo-settings.js';
