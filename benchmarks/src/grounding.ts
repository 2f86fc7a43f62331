import { createGroundingSelector } from '@icot/selector-grounding';
import type { SectionResult } from './report.js';
import { selectorCostVsAds, type SelectorCostSetup } from './selector-cost.js';

/** What {@link groundingCost} measures on. */
export type GroundingCostSetup = SelectorCostSetup;

/**
 * Cost per insertion (selection and insertion, the run's `insertionMs` over its insertions) of the
 * grounding selector with its VLM grounder against ADS on one model: the defaults (the whole step,
 * constrained decoding: one side run per insertion), noun phrases (up to 3 side runs) and free
 * decoding (up to `maxAnswerTokens` passes; a random-weight model writes no box, so it falls back
 * to ADS after the side run). Rotating rounds; medians. The answers differ, so can the insertion
 * counts; the table says how many insertions grounding chose without a fallback.
 */
export async function groundingCost(setup: GroundingCostSetup): Promise<SectionResult> {
  return selectorCostVsAds(
    setup,
    [
      ['grounding-step', () => createGroundingSelector()],
      ['grounding-noun-phrases', () => createGroundingSelector({ text: 'noun-phrases' })],
      ['grounding-free', () => createGroundingSelector({ decoding: 'free' })],
    ],
    'grounding with its VLM grounder in side runs on forks',
  );
}
