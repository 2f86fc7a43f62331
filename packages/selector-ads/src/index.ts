/**
 * Attention-driven Selection (ADS), the paper's selector: the k image patches the signal token
 * attends to most.
 * @module
 */
export { createAdsSelector, topKIndices, AdsSelector, type AdsSelectorSettings } from './ads.js';
