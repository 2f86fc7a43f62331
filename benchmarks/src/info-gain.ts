import { createAdsSelector } from '@icot/selector-ads';
import { createInfoGainSelector } from '@icot/selector-info-gain';
import type { SectionResult } from './report.js';
import { selectorCostVsAds, type SelectorCostSetup } from './selector-cost.js';

/** What {@link infoGainCost} measures on. */
export type InfoGainCostSetup = SelectorCostSetup;

/**
 * Cost per insertion (selection and insertion, the run's `insertionMs` over its insertions) of the
 * info-gain selector against ADS on one model: info-gain with batched side runs, with one fork per
 * candidate, and with context-enhanced attention; ADS with context-enhanced attention too. The
 * selectors run in rotating rounds; medians. Their answers differ (so can their insertion counts);
 * the cost is per insertion.
 */
export async function infoGainCost(setup: InfoGainCostSetup): Promise<SectionResult> {
  return selectorCostVsAds(
    setup,
    [
      ['info-gain-batched', () => createInfoGainSelector({ batching: 'batched' })],
      ['info-gain-sequential', () => createInfoGainSelector({ batching: 'sequential' })],
      ['info-gain-context-enhanced', () => createInfoGainSelector({ attention: 'context-enhanced' })],
      ['ads-context-enhanced', () => createAdsSelector({ attention: 'context-enhanced' })],
    ],
    "info-gain with its defaults (k = the family's 16: 2 x 2 regions, N = 8 + M = 8 candidates, rounds until k)",
  );
}
