import type { Box, EncodedImage, PatchGrid, RgbImage } from '@icot/core';
import { regionPatchBox } from './grid.js';

/** An image as discrete tokens (a VQ image tokenizer's codes as vocabulary ids), raster order of `grid`. */
export class TokenImage implements EncodedImage {
  readonly patchCount: number;
  constructor(
    /** Vocabulary id of each patch's token. */
    readonly tokenIds: Int32Array,
    readonly grid: PatchGrid,
    readonly size: { readonly width: number; readonly height: number },
    /** Part of the original image the grid covers. */
    readonly region: Box = { x: 0, y: 0, width: size.width, height: size.height },
    /** The decoded image the tokens were computed from (kept for selectors that read pixels). */
    readonly pixels?: RgbImage,
  ) {
    this.patchCount = grid.rows * grid.cols;
    if (tokenIds.length !== this.patchCount) throw new Error(`TokenImage: ${tokenIds.length} tokens for a ${grid.rows}x${grid.cols} grid`);
  }

  patchBox(index: number): Box {
    return regionPatchBox(index, this.grid, this.region);
  }

  /** The sub-image of rows `[rows[0], rows[1]]` and columns `[cols[0], cols[1]]` (inclusive). */
  crop(rows: readonly [number, number], cols: readonly [number, number]): TokenImage {
    const grid = { rows: rows[1] - rows[0] + 1, cols: cols[1] - cols[0] + 1 };
    const ids = new Int32Array(grid.rows * grid.cols);
    for (let r = 0; r < grid.rows; r++)
      for (let c = 0; c < grid.cols; c++) ids[r * grid.cols + c] = this.tokenIds[(rows[0] + r) * this.grid.cols + cols[0] + c]!;
    const first = this.patchBox(rows[0] * this.grid.cols + cols[0]);
    return new TokenImage(ids, grid, this.size, { x: first.x, y: first.y, width: first.width * grid.cols, height: first.height * grid.rows }, this.pixels);
  }
}
