/**
 * Attention-driven Selection (ADS), the paper's selector: the k image patches the signal token
 * attends to most; optionally on AIM-CoT's context-enhanced attention.
 * @module
 */
export { createAdsSelector, topKIndices, AdsSelector, ContextEnhancedAdsSelector, type AdsSelectorSettings } from './ads.js';
export {
  ATTENTION_SOURCES,
  checkAttentionSource,
  DEFAULT_DESCRIPTION_PROMPT,
  DEFAULT_DESCRIPTION_TOKENS,
  DEFAULT_READOUT_TEXT,
  readContextEnhancedAttention,
  resolveContextSettings,
  type AttentionSource,
  type ContextEnhancedAttention,
  type ContextEnhancedAttentionSettings,
  type ResolvedContextSettings,
} from './context-attention.js';
