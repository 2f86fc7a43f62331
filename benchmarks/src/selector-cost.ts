import { createSignalTrigger, generateICoT, type PatchSelectorV2, type PromptInput, type VisionLanguageModelV2 } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** The model and run a selector's cost is measured on. */
export interface SelectorCostSetup {
  readonly label: string;
  readonly model: VisionLanguageModelV2;
  readonly prompt: PromptInput;
  /** Signal tokens of the trigger (every `every`-th fires). */
  readonly signalTokenIds: readonly number[];
  readonly every: number;
  readonly maxNewTokens: number;
  /** Most insertions per answer (the cost is per insertion; default 3). */
  readonly maxInsertions?: number;
  readonly rounds: number;
  /** Prefix of the JSON row names (e.g. `demo-`). */
  readonly rowPrefix: string;
}

/**
 * Cost per insertion (selection and insertion: the run's `insertionMs` over its insertions) of each
 * selector against ADS, which is measured first, on one model: a fresh selector per answer, one
 * warm-up answer per selector, then rotating rounds; medians. The answers differ, so can the
 * insertion counts; the table also says how many insertions the selector chose itself (no fallback).
 * `note` describes the selectors' settings in the table's title.
 */
export async function selectorCostVsAds(setup: SelectorCostSetup, others: readonly (readonly [string, () => PatchSelectorV2])[], note: string): Promise<SectionResult> {
  const selectors: readonly (readonly [string, () => PatchSelectorV2])[] = [['ads', () => createAdsSelector()], ...others];
  const once = async (make: () => PatchSelectorV2) => {
    const selector = make();
    const result = await generateICoT({
      model: setup.model,
      prompt: setup.prompt,
      selector,
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: setup.signalTokenIds }, every: setup.every }),
      maxInsertions: setup.maxInsertions ?? 3,
      maxNewTokens: setup.maxNewTokens,
    });
    if (result.insertions.length === 0) throw new Error(`benchmark ${setup.label}: a run made no insertion`);
    const own = result.insertions.filter((i) => i.selector === selector.name && !i.fallback).length;
    return { perInsertion: result.timings.insertionMs / result.insertions.length, insertions: result.insertions.length, own };
  };
  for (const [, make] of selectors) await once(make); // warm-up (the model's sessions, each path once)
  const samples = selectors.map(() => [] as number[]);
  const counts = selectors.map(() => ({ insertions: 0, own: 0 }));
  for (let r = 0; r < setup.rounds; r++)
    for (let j = 0; j < selectors.length; j++) {
      const index = (r + j) % selectors.length;
      const t = await once(selectors[index]![1]);
      samples[index]!.push(t.perInsertion);
      counts[index] = { insertions: t.insertions, own: t.own };
    }
  const ads = median(samples[0]!);
  const rows: string[][] = [['selector', 'ms/insertion', 'vs ads', 'insertions/answer', 'chosen itself (no fallback)']];
  const measured: SectionResult['rows'][number][] = [];
  selectors.forEach(([name], i) => {
    const ms = median(samples[i]!);
    rows.push([name, ms.toFixed(2), (ms / ads).toFixed(2), String(counts[i]!.insertions), String(counts[i]!.own)]);
    measured.push({ name: `${setup.rowPrefix}${name}-ms-per-insertion`, value: ms, unit: 'ms' }, { name: `${setup.rowPrefix}${name}-vs-ads-per-insertion`, value: ms / ads, unit: 'ratio' });
  });
  return { text: [`${setup.label}: cost per insertion (selection + insertion; ${note}), medians of ${setup.rounds} rotating rounds`, table(rows)].join('\n'), rows: measured };
}
