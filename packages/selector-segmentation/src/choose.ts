import type { PatchRegion } from './regions.js';

/** Settings of {@link chooseRegions}. */
export interface RegionChoiceSettings {
  /** Regions with more patches than this (after exclusion) are dropped, as DaP-ICoT drops masks over its token budget. */
  readonly maxRegionPatches: number;
  /** Fill the slots whole regions leave with the most attended patches of the best region that did not fit (default true). */
  readonly fill: boolean;
}

/** What {@link chooseRegions} chose. */
export type RegionChoice =
  | {
      readonly kind: 'regions';
      /** The chosen patches, ascending. */
      readonly indices: number[];
      /** The regions chosen whole (after exclusion), best first, each ascending. */
      readonly regions: number[][];
      /** Whether the best region alone was larger than k, so its k most attended patches were taken. */
      readonly cut: boolean;
    }
  | {
      readonly kind: 'nothing-fits';
      /** Why no region could be chosen, in a sentence. */
      readonly reason: string;
    };

/** The `count` highest-scoring of `patches` (ties to the lower index), ascending. Regions are small, so a sort is fine. */
function mostAttended(patches: readonly number[], scores: ArrayLike<number>, count: number): number[] {
  const value = (p: number): number => {
    const v = scores[p]!;
    return Number.isNaN(v) ? -Infinity : v;
  };
  return [...patches]
    .sort((a, b) => value(b) - value(a) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

/**
 * Choose whole regions by the attention mass they cover:
 *
 * 1. each region loses its excluded patches (regions left empty are gone) and scores the sum of
 *    its patches' attention (NaN counts as 0) - DaP-ICoT's mask score;
 * 2. regions with more than `maxRegionPatches` patches are dropped (DaP-ICoT's token budget);
 *    when every region left is, nothing fits (the caller falls back);
 * 3. when the best region alone has more than k patches (only possible with a budget above k),
 *    its k most attended patches are the choice;
 * 4. otherwise regions are taken whole in descending score (ties: fewer patches, then the earlier
 *    region), skipping any that no longer fits, while the total stays <= k; overlapping regions
 *    (SAM masks) add only their patches not chosen yet, and those are what `regions` reports;
 * 5. with `fill`, the slots left go to the most attended patches of the best region not taken
 *    (one partial region; regions dropped for a budget below k may follow); without it the
 *    choice may have fewer than k patches.
 *
 * Nothing left after exclusion gives an empty choice. O(P log P) for P patches.
 */
export function chooseRegions(regions: readonly PatchRegion[], scores: ArrayLike<number>, k: number, exclude: ReadonlySet<number>, settings: RegionChoiceSettings): RegionChoice {
  interface Candidate {
    readonly patches: number[];
    readonly score: number;
    readonly order: number;
  }
  const all: Candidate[] = [];
  regions.forEach((region, order) => {
    const patches = exclude.size === 0 ? [...region] : region.filter((p) => !exclude.has(p));
    if (patches.length === 0) return;
    let score = 0;
    for (const p of patches) {
      const v = scores[p]!;
      if (!Number.isNaN(v)) score += v;
    }
    all.push({ patches, score, order });
  });
  if (all.length === 0) return { kind: 'regions', indices: [], regions: [], cut: false };
  const ranked = [...all].sort((a, b) => b.score - a.score || a.patches.length - b.patches.length || a.order - b.order);
  const fitting = ranked.filter((c) => c.patches.length <= settings.maxRegionPatches);
  if (fitting.length === 0) {
    const smallest = all.reduce((m, c) => Math.min(m, c.patches.length), Infinity);
    return { kind: 'nothing-fits', reason: `every region is larger than the budget of ${settings.maxRegionPatches} patches (the smallest has ${smallest})` };
  }
  const best = fitting[0]!;
  if (best.patches.length > k) return { kind: 'regions', indices: mostAttended(best.patches, scores, k), regions: [], cut: true };
  // regions may overlap (SAM masks): a region adds only the patches not chosen yet
  const taken = new Set<Candidate>();
  const chosen = new Set<number>();
  const whole: number[][] = [];
  let left = k;
  for (const c of fitting) {
    if (left === 0) break;
    const fresh = c.patches.filter((p) => !chosen.has(p));
    if (fresh.length === 0 || fresh.length > left) continue;
    taken.add(c);
    whole.push(fresh);
    for (const p of fresh) chosen.add(p);
    left -= fresh.length;
  }
  if (left > 0 && settings.fill) {
    // regions not taken, best first: a fitting one has more new patches than the slots left (else
    // it was taken above), so one partial region fills them; with a budget below k, regions
    // dropped for the budget can be smaller than the slots left and fill them in turn
    for (const c of ranked) {
      if (left === 0) break;
      if (taken.has(c)) continue;
      const part = mostAttended(
        c.patches.filter((p) => !chosen.has(p)),
        scores,
        left,
      );
      for (const p of part) chosen.add(p);
      left -= part.length;
    }
  }
  return { kind: 'regions', indices: [...chosen].sort((a, b) => a - b), regions: whole, cut: false };
}
