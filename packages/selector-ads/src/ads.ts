import { IcotError, SelectionError, type PatchSelection, type PatchSelectorV2, type SelectionRequest, type SelectorRequirements } from '@icot/core';

/**
 * Indices of the `k` largest `scores`, skipping `exclude`, returned ascending. Ties go to the
 * lower index. Runs in O(n log k) without sorting all scores.
 */
export function topKIndices(scores: ArrayLike<number>, k: number, exclude: ReadonlySet<number> = new Set()): number[] {
  // A min-heap of the best k (value, index) pairs seen so far.
  const heapValue: number[] = [];
  const heapIndex: number[] = [];
  const worse = (a: number, b: number): boolean =>
    heapValue[a]! < heapValue[b]! || (heapValue[a] === heapValue[b] && heapIndex[a]! > heapIndex[b]!);
  const swap = (a: number, b: number): void => {
    [heapValue[a], heapValue[b]] = [heapValue[b]!, heapValue[a]!];
    [heapIndex[a], heapIndex[b]] = [heapIndex[b]!, heapIndex[a]!];
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heapValue.length && worse(l, m)) m = l;
      if (r < heapValue.length && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    if (exclude.has(i)) continue;
    const v = scores[i]!;
    if (Number.isNaN(v)) continue;
    if (heapValue.length < k) {
      heapValue.push(v);
      heapIndex.push(i);
      for (let c = heapValue.length - 1; c > 0; ) {
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (k > 0 && v > heapValue[0]!) {
      heapValue[0] = v;
      heapIndex[0] = i;
      siftDown(0);
    }
  }
  return heapIndex.sort((a, b) => a - b);
}

/** Settings of {@link createAdsSelector}. */
export interface AdsSelectorSettings {
  /** Name reported in results (default `ads`). */
  readonly name?: string;
}

/**
 * Attention-driven Selection: top-k patches of the query image by the signal token's attention
 * (mean over layers and heads, as the backend reports it, read through the image's patch map: on a
 * tiled image, over every tile's tokens and the global view's), indices ascending. Patches in
 * `request.exclude` are skipped; when fewer than k remain, all remaining ones are returned.
 */
export class AdsSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly requires: SelectorRequirements = { attention: true };
  readonly name: string;

  constructor(settings: AdsSelectorSettings = {}) {
    this.name = settings.name ?? 'ads';
  }

  select(request: SelectionRequest): PatchSelection {
    const { scores, image, k } = request;
    if (!scores) throw new IcotError('internal', 'ADS needs attention scores, but the request has none.');
    if (scores.length !== image.patchCount)
      throw new SelectionError(`ADS got ${scores.length} scores for an image of ${image.patchCount} patches.`);
    if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
    if (k > image.patchCount)
      throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
    return { indices: topKIndices(scores, k, request.exclude) };
  }
}

/** Create the paper's Attention-driven Selection selector. */
export function createAdsSelector(settings: AdsSelectorSettings = {}): AdsSelector {
  return new AdsSelector(settings);
}
