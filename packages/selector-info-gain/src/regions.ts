import { imageTiles, type EncodedImage } from '@icot/core';

/** A candidate region: one `size x size` block of a tile's patch grid (smaller at the grid's right and bottom edges). */
export interface GridRegion {
  /** Index of the tile (0 on a single-grid image). */
  readonly tile: number;
  /** Top row and left column of the block in the tile's grid. */
  readonly row: number;
  readonly col: number;
  /** Patch indices of the image, ascending. */
  readonly patches: readonly number[];
}

/**
 * Cut every tile's patch grid into `size x size` blocks (raster order of blocks, tile after tile;
 * blocks at the right and bottom edges keep what is left). Every patch is in exactly one region.
 */
export function gridRegions(image: EncodedImage, size: number): GridRegion[] {
  const regions: GridRegion[] = [];
  imageTiles(image).forEach((tile, t) => {
    const { rows, cols } = tile.grid;
    for (let r0 = 0; r0 < rows; r0 += size)
      for (let c0 = 0; c0 < cols; c0 += size) {
        const patches: number[] = [];
        for (let r = r0; r < Math.min(rows, r0 + size); r++)
          for (let c = c0; c < Math.min(cols, c0 + size); c++) patches.push(tile.firstPatch + r * cols + c);
        regions.push({ tile: t, row: r0, col: c0, patches });
      }
  });
  return regions;
}
