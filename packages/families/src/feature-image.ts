import type { Box, EncodedImage, PatchGrid } from '@icot/core';
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
  ) {
    this.patchCount = grid.rows * grid.cols;
  }

  patchBox(index: number): Box {
    return regionPatchBox(index, this.grid, this.region);
  }
}

