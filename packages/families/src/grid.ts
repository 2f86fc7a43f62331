import type { Box, PatchGrid } from '@icot/core';

/**
 * Pixel rectangle of patch `index` (raster order) when an image of `size` pixels is covered by
 * `grid` equal cells (what a resize to a multiple of the patch size amounts to).
 */
export function gridPatchBox(index: number, grid: PatchGrid, size: { readonly width: number; readonly height: number }): Box {
  const row = Math.floor(index / grid.cols);
  const col = index % grid.cols;
  const cellWidth = size.width / grid.cols;
  const cellHeight = size.height / grid.rows;
  return { x: col * cellWidth, y: row * cellHeight, width: cellWidth, height: cellHeight };
}

/**
 * Pixel rectangle of patch `index` when the patch grid covers `region` of the original image
 * (e.g. the center crop a CLIP-style processor keeps).
 */
export function regionPatchBox(index: number, grid: PatchGrid, region: Box): Box {
  const cell = gridPatchBox(index, grid, { width: region.width, height: region.height });
  return { x: region.x + cell.x, y: region.y + cell.y, width: cell.width, height: cell.height };
}
