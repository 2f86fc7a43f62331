import { imageTiles, patchCell, type Box, type EncodedImage } from '@icot/core';
import type { PatchRegion } from './regions.js';

/** A binary mask over the original image: `width * height` bytes, non-zero inside, rows top to bottom. */
export interface BinaryMask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * The pixels a box covers, by the pixel-centre rule (pixel i is in [x, x + width) when i + 0.5
 * is), clamped to the image; a box too small to hold a pixel centre gets the pixel under its
 * centre. Half-open ranges.
 */
function pixelRange(box: Box, width: number, height: number): { x0: number; x1: number; y0: number; y1: number } {
  const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
  let x0 = clamp(Math.ceil(box.x - 0.5), width);
  let x1 = clamp(Math.ceil(box.x + box.width - 0.5), width);
  let y0 = clamp(Math.ceil(box.y - 0.5), height);
  let y1 = clamp(Math.ceil(box.y + box.height - 0.5), height);
  if (x1 <= x0) {
    x0 = clamp(Math.floor(box.x + box.width / 2), width - 1);
    x1 = x0 + 1;
  }
  if (y1 <= y0) {
    y0 = clamp(Math.floor(box.y + box.height / 2), height - 1);
    y1 = y0 + 1;
  }
  return { x0, x1, y0, y1 };
}

/**
 * The patches a mask covers: those with at least `coverage` of their box's pixels inside it
 * (0.5: the mask covers most of the patch, the rule SLIC regions follow; DaP-ICoT takes every
 * token any mask pixel falls in, which a small `coverage` approaches). On a tiled image the tile
 * patches and the global-view patches come back as two regions (see `regionsFromSuperpixels`);
 * empty ones are left out. O(pixels + patches) with a summed-area table.
 */
export function maskRegions(image: EncodedImage, mask: BinaryMask, coverage = 0.5): PatchRegion[] {
  const { width: w, height: h, data } = mask;
  const sums = new Int32Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += data[y * w + x] ? 1 : 0;
      sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1]! + row;
    }
  }
  const regions: number[][] = [];
  for (const tile of imageTiles(image)) {
    const view = tile.place === 'global' ? 1 : 0;
    const end = tile.firstPatch + tile.grid.rows * tile.grid.cols;
    const target = (regions[view] ??= []);
    for (let p = tile.firstPatch; p < end; p++) {
      const { x0, x1, y0, y1 } = pixelRange(image.patchBox(p), w, h);
      const inside = sums[y1 * (w + 1) + x1]! - sums[y0 * (w + 1) + x1]! - sums[y1 * (w + 1) + x0]! + sums[y0 * (w + 1) + x0]!;
      if (inside > 0 && inside >= coverage * (x1 - x0) * (y1 - y0)) target.push(p);
    }
  }
  return regions.filter((r) => r !== undefined && r.length > 0);
}

/**
 * SAM's stability score of one mask's logits: the IoU of the mask thresholded at
 * `threshold + offset` and at `threshold - offset` (segment-anything, `calculate_stability_score`;
 * SAM's defaults: threshold 0, offset 1). 0 when nothing passes the lower threshold.
 */
export function stabilityScore(logits: ArrayLike<number>, threshold = 0, offset = 1): number {
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > threshold + offset) intersection++;
    if (v > threshold - offset) union++;
  }
  return union === 0 ? 0 : intersection / union;
}

/** The box of a mask's set pixels as [x0, y0, x1, y1] with inclusive ends (SAM's `batched_mask_to_box`); undefined for an empty mask. */
export function maskBox(mask: BinaryMask): [number, number, number, number] | undefined {
  const { width: w, height: h, data } = mask;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0, i = y * w; x < w; x++, i++)
      if (data[i]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
  return x1 < 0 ? undefined : [x0, y0, x1, y1];
}

/** IoU of two [x0, y0, x1, y1] boxes with torchvision's area (x1 - x0) (y1 - y0), as SAM's box NMS computes it. */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = (a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter;
  return union <= 0 ? (inter > 0 ? 1 : 0) : inter / union;
}

/**
 * Greedy box non-maximum suppression (SAM's automatic mask generator: `batched_nms` over the
 * masks' boxes, scored by predicted IoU): indices of the kept items, best first (ties: the earlier).
 */
export function boxNms(boxes: readonly (readonly number[])[], scores: readonly number[], threshold: number): number[] {
  const order = boxes.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) if (kept.every((j) => boxIou(boxes[i]!, boxes[j]!) <= threshold)) kept.push(i);
  return kept;
}

/**
 * The `count` attention peaks of an image: patches in descending score (ties: the lower index),
 * skipping excluded ones and any patch next to (8-neighbourhood, same tile) an earlier peak, so
 * the prompts spread over distinct attended places. NaN scores are never peaks.
 */
export function attentionPeaks(image: EncodedImage, scores: ArrayLike<number>, count: number, exclude: ReadonlySet<number> = new Set()): number[] {
  const order: number[] = [];
  for (let p = 0; p < image.patchCount; p++) if (!exclude.has(p) && !Number.isNaN(scores[p]!)) order.push(p);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  const peaks: number[] = [];
  const cells: { tile: number; row: number; col: number }[] = [];
  for (const p of order) {
    if (peaks.length >= count) break;
    const cell = patchCell(image, p);
    if (cells.some((c) => c.tile === cell.tile && Math.abs(c.row - cell.row) <= 1 && Math.abs(c.col - cell.col) <= 1)) continue;
    peaks.push(p);
    cells.push(cell);
  }
  return peaks;
}

/** SAM's point grid (`build_point_grid`): n x n points at ((i + 0.5) / n) of the width and height, row by row, in original-image pixels. */
export function pointGrid(n: number, width: number, height: number): [number, number][] {
  const points: [number, number][] = [];
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) points.push([((c + 0.5) / n) * width, ((r + 0.5) / n) * height]);
  return points;
}
