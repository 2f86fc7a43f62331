import type { Box, EncodedImage } from '@icot/core';

/** Fraction of `patch`'s area inside `box` (0 when they only touch). */
export function overlapFraction(patch: Box, box: Box): number {
  const w = Math.min(patch.x + patch.width, box.x + box.width) - Math.max(patch.x, box.x);
  const h = Math.min(patch.y + patch.height, box.y + box.height) - Math.max(patch.y, box.y);
  if (w <= 0 || h <= 0) return 0;
  const area = patch.width * patch.height;
  return area > 0 ? Math.min(1, (w * h) / area) : 0;
}

/** Settings of {@link patchesForBoxes}. */
export interface BoxPatchSettings {
  /** Most patches. */
  readonly k: number;
  /** Patches never chosen. */
  readonly exclude: ReadonlySet<number>;
  /** Attention per patch (ties are broken by it, higher first), when available. */
  readonly scores?: ArrayLike<number>;
  /** `overlap` or `covered` (see {@link GroundingSelectorOptions.patches}). */
  readonly rule: 'overlap' | 'covered';
  /** `covered`: least overlap fraction of a covered patch. */
  readonly minCoverage: number;
}

/** What {@link patchesForBoxes} chose. */
export interface BoxPatches {
  /** Chosen patches, ascending. */
  readonly indices: number[];
  /** How many of them a box overlaps (the rest were chosen by attention alone: `overlap` rule, too few patches overlapped). */
  readonly grounded: number;
}

/**
 * The patches of `image` that `boxes` (original-image pixels) select. A patch's overlap is its
 * largest overlap fraction with any box (its box is `image.patchBox(p)`, so tiles and a global view
 * are measured in the same original-image pixels).
 * - `overlap`: every patch not excluded, ranked by overlap (descending), then attention (higher
 *   first, when `scores` are given), then index; the first k. When fewer than k patches overlap a
 *   box, the rest are the most attended ones (overlap 0 ties, broken by attention).
 * - `covered`: the patches whose overlap is at least `minCoverage`; when there are more than k, the
 *   k most attended (then the larger overlap, then the lower index). Possibly fewer than k.
 * O(patches x boxes + n log n) for the n candidates.
 */
export function patchesForBoxes(image: EncodedImage, boxes: readonly Box[], settings: BoxPatchSettings): BoxPatches {
  const { k, exclude, scores, rule, minCoverage } = settings;
  const overlap = new Float64Array(image.patchCount);
  const candidates: number[] = [];
  for (let p = 0; p < image.patchCount; p++) {
    if (exclude.has(p)) continue;
    const patch = image.patchBox(p);
    let best = 0;
    for (const box of boxes) best = Math.max(best, overlapFraction(patch, box));
    overlap[p] = best;
    if (rule === 'overlap' || best >= minCoverage) candidates.push(p);
  }
  const attention = (p: number): number => {
    const v = scores ? scores[p]! : 0;
    return Number.isNaN(v) ? -Infinity : v;
  };
  if (rule === 'overlap') candidates.sort((a, b) => overlap[b]! - overlap[a]! || attention(b) - attention(a) || a - b);
  else candidates.sort((a, b) => attention(b) - attention(a) || overlap[b]! - overlap[a]! || a - b);
  const indices = candidates.slice(0, k).sort((a, b) => a - b);
  return { indices, grounded: indices.filter((p) => overlap[p]! > 0).length };
}
