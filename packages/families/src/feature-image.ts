import type { Box, EncodedImage, PatchGrid, RgbImage } from '@icot/core';
import { regionPatchBox } from './grid.js';

/** An image after a vision encoder: one feature row per patch, in raster order of `grid`. */
export class FeatureImage implements EncodedImage {
  readonly patchCount: number;
  constructor(
    /** `[patchCount, hidden]` row-major. */
    readonly features: Float32Array,
    readonly hidden: number,
    readonly grid: PatchGrid,
    readonly size: { readonly width: number; readonly height: number },
    /** Part of the original image the grid covers (all of it unless the processor crops). */
    readonly region: Box = { x: 0, y: 0, width: size.width, height: size.height },
    /** The decoded image the features were computed from (kept for selectors that read pixels). */
    readonly pixels?: RgbImage,
  ) {
    this.patchCount = grid.rows * grid.cols;
  }

  patchBox(index: number): Box {
    return regionPatchBox(index, this.grid, this.region);
  }

  /** The sub-image of rows `[rows[0], rows[1]]` and columns `[cols[0], cols[1]]` (inclusive). */
  crop(rows: readonly [number, number], cols: readonly [number, number]): FeatureImage {
    const grid = { rows: rows[1] - rows[0] + 1, cols: cols[1] - cols[0] + 1 };
    const h = this.hidden;
    const features = new Float32Array(grid.rows * grid.cols * h);
    for (let r = 0; r < grid.rows; r++)
      for (let c = 0; c < grid.cols; c++) {
        const from = ((rows[0] + r) * this.grid.cols + cols[0] + c) * h;
        features.set(this.features.subarray(from, from + h), (r * grid.cols + c) * h);
      }
    const first = this.patchBox(rows[0] * this.grid.cols + cols[0]);
    return new FeatureImage(features, h, grid, this.size, { x: first.x, y: first.y, width: first.width * grid.cols, height: first.height * grid.rows }, this.pixels);
  }
}

