import { imageTiles, type Box, type EncodedImage } from '@icot/core';
import type { Superpixels } from './slic.js';

/** A region of the query image as the patches it owns (indices ascending). */
export type PatchRegion = readonly number[];

/**
 * The part of `box` (original-image pixels) inside an image of `width x height`, scaled by
 * `1 / factor` into the coordinates of a segmentation made on the image shrunk by `factor`.
 */
function scaledBox(box: Box, width: number, height: number, factor: number): { x0: number; y0: number; x1: number; y1: number } {
  const x0 = Math.max(0, Math.min(width, box.x));
  const y0 = Math.max(0, Math.min(height, box.y));
  const x1 = Math.max(0, Math.min(width, box.x + box.width));
  const y1 = Math.max(0, Math.min(height, box.y + box.height));
  return { x0: x0 / factor, y0: y0 / factor, x1: x1 / factor, y1: y1 / factor };
}

/**
 * The label covering most of `box`: each segmentation pixel counts with the area it shares with
 * the box (so fractional boxes and shrunk segmentations weigh exactly); ties go to the lower
 * label. A box without area (or outside the image) takes the label at its clamped centre.
 */
function majorityLabel(superpixels: Superpixels, box: { x0: number; y0: number; x1: number; y1: number }, weights: Float64Array, touched: Int32Array): number {
  const { width: w, height: h, labels } = superpixels;
  if (!(box.x1 > box.x0 && box.y1 > box.y0)) {
    const x = Math.min(w - 1, Math.max(0, Math.floor((box.x0 + box.x1) / 2)));
    const y = Math.min(h - 1, Math.max(0, Math.floor((box.y0 + box.y1) / 2)));
    return labels[y * w + x]!;
  }
  let touchedCount = 0;
  const ix0 = Math.max(0, Math.floor(box.x0));
  const ix1 = Math.min(w - 1, Math.ceil(box.x1) - 1);
  const iy0 = Math.max(0, Math.floor(box.y0));
  const iy1 = Math.min(h - 1, Math.ceil(box.y1) - 1);
  for (let y = iy0; y <= iy1; y++) {
    const wy = Math.min(y + 1, box.y1) - Math.max(y, box.y0);
    if (wy <= 0) continue;
    for (let x = ix0; x <= ix1; x++) {
      const wx = Math.min(x + 1, box.x1) - Math.max(x, box.x0);
      if (wx <= 0) continue;
      const label = labels[y * w + x]!;
      if (weights[label] === 0) touched[touchedCount++] = label;
      weights[label]! += wx * wy;
    }
  }
  let best = -1;
  let bestWeight = -1;
  for (let t = 0; t < touchedCount; t++) {
    const label = touched[t]!;
    const weight = weights[label]!;
    if (weight > bestWeight || (weight === bestWeight && label < best)) {
      best = label;
      bestWeight = weight;
    }
    weights[label] = 0;
  }
  return best;
}

/**
 * Group an image's patches into regions by a pixel segmentation: each patch belongs to the label
 * covering most of its box (`image.patchBox(p)`, original-image pixels; the segmentation was made
 * on the image shrunk by the integer `factor`), and a region is the patches of one label.
 *
 * Tiled images (SmolVLM / Idefics3, LLaVA-NeXT): the local tiles and the downscaled global view
 * cover the same pixels at two scales, so one label gives up to two regions, its tile patches (the
 * fine view; a region may span several tiles) and its global-view patches (the coarse view), each
 * scored and selected on its own. A region is thus always spatially coherent at one resolution,
 * and the attention decides which resolution is inserted.
 *
 * Regions are ordered by their first patch; labels that own no patch give no region. O(pixels
 * covered by the boxes), about the image's size once per view.
 */
export function regionsFromSuperpixels(image: EncodedImage, superpixels: Superpixels, original: { readonly width: number; readonly height: number }, factor = 1): PatchRegion[] {
  const weights = new Float64Array(superpixels.count);
  const touched = new Int32Array(superpixels.count);
  const groups = new Map<number, number[]>();
  for (const tile of imageTiles(image)) {
    const view = tile.place === 'global' ? 1 : 0;
    const end = tile.firstPatch + tile.grid.rows * tile.grid.cols;
    for (let p = tile.firstPatch; p < end; p++) {
      const label = majorityLabel(superpixels, scaledBox(image.patchBox(p), original.width, original.height, factor), weights, touched);
      const key = label * 2 + view;
      const group = groups.get(key);
      if (group) group.push(p);
      else groups.set(key, [p]);
    }
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!);
}
