import type { Box, EncodedImage, ImageTile, PatchGrid, RgbImage } from '@icot/core';
import { patchCell } from '@icot/core';

/**
 * A tiled image after a vision encoder (SmolVLM / Idefics3: tiles then a global view; LLaVA-NeXT):
 * one feature row per patch, tile after tile, raster order within a tile. A patch's box is its
 * cell of its tile's box in the original image. Tiled images cannot be cropped to regions.
 */
export class TiledFeatureImage implements EncodedImage {
  readonly patchCount: number;
  readonly grid: PatchGrid;

  constructor(
    /** `[patchCount, hidden]` row-major, in patch order. */
    readonly features: Float32Array,
    readonly hidden: number,
    /** The tiles, in patch order (consecutive `firstPatch` ranges). */
    readonly tiles: readonly ImageTile[],
    readonly size: { readonly width: number; readonly height: number },
    /** The decoded image the features were computed from (kept for selectors that read pixels). */
    readonly pixels?: RgbImage,
  ) {
    let next = 0;
    let rows = 0;
    let cols = 0;
    for (const tile of tiles) {
      if (tile.firstPatch !== next) throw new Error(`TiledFeatureImage: tile patches must be consecutive (tile at ${tile.firstPatch}, expected ${next})`);
      next += tile.grid.rows * tile.grid.cols;
      if (tile.place !== 'global') {
        rows = Math.max(rows, (tile.place.row + 1) * tile.grid.rows);
        cols = Math.max(cols, (tile.place.col + 1) * tile.grid.cols);
      }
    }
    this.patchCount = next;
    if (features.length !== next * hidden) throw new Error(`TiledFeatureImage: ${features.length} values for ${next} patches x ${hidden}`);
    // the grid the local tiles form side by side (a single global view: its own grid)
    this.grid = rows > 0 ? { rows, cols } : (tiles[0]?.grid ?? { rows: 0, cols: 0 });
  }

  patchBox(index: number): Box {
    const cell = patchCell(this, index);
    const tile = this.tiles[cell.tile]!;
    const width = tile.box.width / tile.grid.cols;
    const height = tile.box.height / tile.grid.rows;
    return { x: tile.box.x + cell.col * width, y: tile.box.y + cell.row * height, width, height };
  }
}
