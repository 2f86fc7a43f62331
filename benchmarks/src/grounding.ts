import { createSignalTrigger, generateICoT, type PatchSelectorV2, type PromptInput, type VisionLanguageModelV2 } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAdsSelector } from '@icot/selector-ads';
import { createGroundingSelector } from '@icot/selector-grounding';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** What {@link groundingCost} measures on. */
export interface GroundingCostSetup {
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
 * grounding selector with its VLM grounder against ADS on one model: the defaults (the whole step,
 * constrained decoding: one side run per insertion), noun phrases (up to 3 side runs) and free
 * decoding (up to `maxAnswerTokens` passes; a random-weight model writes no box, so it falls back
 * to ADS after the side run). Rotating rounds; medians. The answers differ, so can the insertion
 * counts; the table says how many insertions grounding chose without a fallback.
 */
export async function groundingCost(setup: GroundingCostSetup): Promise<SectionResult> {
  const selectors: [string, () => PatchSelectorV2][] = [
    ['ads', () => createAdsSelector()],
    ['grounding-step', () => createGroundingSelector()],
    ['grounding-noun-phrases', () => createGroundingSelector({ text: 'noun-phrases' })],
    ['grounding-free', () => createGroundingSelector({ decoding: 'free' })],
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
    const grounded = result.insertions.filter((i) => i.selector === 'grounding' && !i.fallback).length;
    return { perInsertion: result.timings.insertionMs / result.insertions.length, insertions: result.insertions.length, grounded };
  };
  for (const [, make] of selectors) await once(make); // warm-up (the model's sessions, each path once)
  const samples = selectors.map(() => [] as number[]);
  const counts = selectors.map(() => ({ insertions: 0, grounded: 0 }));
  for (let r = 0; r < setup.rounds; r++)
    for (let j = 0; j < selectors.length; j++) {
      const index = (r + j) % selectors.length;
      const t = await once(selectors[index]![1]);
      samples[index]!.push(t.perInsertion);
      counts[index] = { insertions: t.insertions, grounded: t.grounded };
    }
  const ads = median(samples[0]!);
  const rows: string[][] = [['selector', 'ms/insertion', 'vs ads', 'insertions/answer', 'grounded (no fallback)']];
  const measured: SectionResult['rows'][number][] = [];
  selectors.forEach(([name], i) => {
    const ms = median(samples[i]!);
    rows.push([name, ms.toFixed(2), (ms / ads).toFixed(2), String(counts[i]!.insertions), name === 'ads' ? '-' : String(counts[i]!.grounded)]);
    measured.push({ name: `${setup.rowPrefix}${name}-ms-per-insertion`, value: ms, unit: 'ms' }, { name: `${setup.rowPrefix}${name}-vs-ads-per-insertion`, value: ms / ads, unit: 'ratio' });
  });
  return {
    text: [`${setup.label}: cost per insertion (selection + insertion; grounding with its VLM grounder in side runs on forks), medians of ${setup.rounds} rotating rounds`, table(rows)].join('\n'),
    rows: measured,
  };
}
