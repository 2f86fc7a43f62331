import { createSignalTrigger, generateICoT, type PatchSelectorV2, type PromptInput, type VisionLanguageModelV2 } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import { createInfoGainSelector } from '@icot/selector-info-gain';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** What {@link infoGainCost} measures on. */
export interface InfoGainCostSetup {
  readonly label: string;
  readonly model: VisionLanguageModelV2;
  readonly prompt: PromptInput;
  /** Signal tokens of the trigger (every `every`-th fires). */
  readonly signalTokenIds: readonly number[];
  readonly every: number;
  readonly maxNewTokens: number;
  /** Most insertions per answer (the cost is per insertion). */
  readonly maxInsertions: number;
  readonly rounds: number;
  /** Prefix of the JSON row names (e.g. `demo-`). */
  readonly rowPrefix: string;
}

/**
 * Cost per insertion (selection and insertion, the run's `insertionMs` over its insertions) of the
 * info-gain selector against ADS on one model: info-gain with batched side runs, with one fork per
 * candidate, and with context-enhanced attention; ADS with context-enhanced attention too. The
 * selectors run in rotating rounds; medians. Their answers differ (so can their insertion counts);
 * the cost is per insertion.
 */
export async function infoGainCost(setup: InfoGainCostSetup): Promise<SectionResult> {
  const selectors: [string, () => PatchSelectorV2][] = [
    ['ads', () => createAdsSelector()],
    ['info-gain-batched', () => createInfoGainSelector({ batching: 'batched' })],
    ['info-gain-sequential', () => createInfoGainSelector({ batching: 'sequential' })],
    ['info-gain-context-enhanced', () => createInfoGainSelector({ attention: 'context-enhanced' })],
    ['ads-context-enhanced', () => createAdsSelector({ attention: 'context-enhanced' })],
  ];
  const once = async (make: () => PatchSelectorV2) => {
    const result = await generateICoT({
      model: setup.model,
      prompt: setup.prompt,
      selector: make(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: setup.signalTokenIds }, every: setup.every }),
      maxInsertions: setup.maxInsertions,
      maxNewTokens: setup.maxNewTokens,
    });
    if (result.insertions.length === 0) throw new Error(`benchmark ${setup.label}: a run made no insertion`);
    return { perInsertion: result.timings.insertionMs / result.insertions.length, insertions: result.insertions.length };
  };
  await once(selectors[0]![1]); // warm-up (the model's sessions)
  const samples = selectors.map(() => [] as number[]);
  const counts = selectors.map(() => 0);
  for (let r = 0; r < setup.rounds; r++)
    for (let j = 0; j < selectors.length; j++) {
      const index = (r + j) % selectors.length;
      const t = await once(selectors[index]![1]);
      samples[index]!.push(t.perInsertion);
      counts[index] = t.insertions;
    }
  const ads = median(samples[0]!);
  const rows: string[][] = [['selector', 'ms/insertion', 'vs ads', 'insertions/answer']];
  const measured: SectionResult['rows'][number][] = [];
  selectors.forEach(([name], i) => {
    const ms = median(samples[i]!);
    rows.push([name, ms.toFixed(2), (ms / ads).toFixed(2), String(counts[i])]);
    measured.push({ name: `${setup.rowPrefix}${name}-ms-per-insertion`, value: ms, unit: 'ms' }, { name: `${setup.rowPrefix}${name}-vs-ads-per-insertion`, value: ms / ads, unit: 'ratio' });
  });
  return {
    text: [
      `${setup.label}: cost per insertion (selection + insertion), info-gain with its defaults (k = the family's 16: 2 x 2 regions, N = 8 + M = 8 candidates, rounds until k), medians of ${setup.rounds} rotating rounds`,
      table(rows),
    ].join('\n'),
    rows: measured,
  };
}
