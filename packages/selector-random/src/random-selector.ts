import { SelectionError, type PatchSelection, type PatchSelectorV2, type SelectionRequest, type SelectorRequirements } from '@icot/core';

/**
 * Random selection, the ablation baseline: k patches of the query image drawn uniformly without
 * replacement from the run's seeded random source (so runs are reproducible), skipping excluded
 * patches; indices ascending. Needs no attention, so it also runs on models whose attention
 * cannot be read.
 */
export class RandomSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'random';
  readonly requires: SelectorRequirements = { attention: false };

  select(request: SelectionRequest): PatchSelection {
    const { image, k, exclude, random } = request;
    if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
    if (k > image.patchCount) throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
    const pool: number[] = [];
    for (let i = 0; i < image.patchCount; i++) if (!exclude.has(i)) pool.push(i);
    const take = Math.min(k, pool.length);
    // partial Fisher-Yates: the first `take` entries become a uniform sample
    for (let i = 0; i < take; i++) {
      const j = i + random.int(pool.length - i);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return { indices: pool.slice(0, take).sort((a, b) => a - b) };
  }
}

/** Create the random (ablation) selector. */
export function createRandomSelector(): RandomSelector {
  return new RandomSelector();
}
