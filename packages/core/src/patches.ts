import type { Box, EncodedImage, ImageTile, PatchCell, PositionIds } from './spec/model.js';

/**
 * The tiles of an image: its own `tiles`, or - for a single-grid image - the one tile its grid
 * makes (covering the union of its patch boxes).
 */
export function imageTiles(image: EncodedImage): readonly ImageTile[] {
  if (image.tiles) return image.tiles;
  const first = image.patchBox(0);
  const last = image.patchBox(image.patchCount - 1);
  const box: Box = { x: first.x, y: first.y, width: last.x + last.width - first.x, height: last.y + last.height - first.y };
  return [{ grid: image.grid, firstPatch: 0, box, place: { row: 0, col: 0 } }];
}

/**
 * Where an image's patches are in the original image, as plain data (JSON and structured-clone
 * safe): what is needed to draw a per-patch score row (an insertion's attention) over the image.
 */
export interface ImageLayout {
  /** Size of the original image in pixels: the space of every box below. */
  readonly size: { readonly width: number; readonly height: number };
  /** Number of patches (the length of a per-patch row). */
  readonly patchCount: number;
  /** The tiles in patch order ({@link imageTiles}: one tile for a single-grid image). */
  readonly tiles: readonly ImageTile[];
  /** Pixel rectangle of every patch in the original image, in patch order. */
  readonly patchBoxes: readonly Box[];
}

/** The {@link ImageLayout} of an encoded image: its size, tiles and every patch's box (O(patches)). */
export function imageLayout(image: EncodedImage): ImageLayout {
  const box = (b: Box): Box => ({ x: b.x, y: b.y, width: b.width, height: b.height });
  const tiles = imageTiles(image).map(
    (tile): ImageTile => ({
      grid: { rows: tile.grid.rows, cols: tile.grid.cols },
      firstPatch: tile.firstPatch,
      box: box(tile.box),
      place: tile.place === 'global' ? 'global' : { row: tile.place.row, col: tile.place.col },
    }),
  );
  const patchBoxes = new Array<Box>(image.patchCount);
  for (let i = 0; i < image.patchCount; i++) patchBoxes[i] = box(image.patchBox(i));
  return { size: { width: image.size.width, height: image.size.height }, patchCount: image.patchCount, tiles, patchBoxes };
}

/** The tile, row and column of patch `index` (for a single-grid image: tile 0, raster order of its grid). */
export function patchCell(image: EncodedImage, index: number): PatchCell {
  if (!image.tiles) return { tile: 0, row: Math.floor(index / image.grid.cols), col: index % image.grid.cols };
  const tiles = image.tiles;
  // tiles are in patch order: the last one starting at or before `index`
  let lo = 0;
  let hi = tiles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tiles[mid]!.firstPatch <= index) lo = mid;
    else hi = mid - 1;
  }
  const tile = tiles[lo]!;
  const within = index - tile.firstPatch;
  return { tile: lo, row: Math.floor(within / tile.grid.cols), col: within % tile.grid.cols };
}

/** The patch map of an image whose `count` patches sit in one run starting at cache index `start`. */
export function contiguousCacheIndices(start: number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = start + i;
  return out;
}

/** `row[cacheIndices[i]]` for every patch `i`: an attention row over the cache read through a patch map. */
export function gatherByCacheIndex(row: ArrayLike<number>, cacheIndices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(cacheIndices.length);
  for (let i = 0; i < out.length; i++) out[i] = row[cacheIndices[i]!]!;
  return out;
}

/** The sum of `row` over a patch map (e.g. the attention mass on an image). */
export function massAt(row: ArrayLike<number>, cacheIndices: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < cacheIndices.length; i++) total += row[cacheIndices[i]!]!;
  return total;
}

/** Position ids at the given indices of a run (e.g. each patch's positions in the prompt, through its patch map). */
export function gatherPositions(positions: PositionIds, indices: ArrayLike<number>): PositionIds {
  const length = indices.length;
  const data = new Int32Array(positions.axes * length);
  for (let a = 0; a < positions.axes; a++) for (let i = 0; i < length; i++) data[a * length + i] = positions.data[a * positions.length + indices[i]!]!;
  return { axes: positions.axes, length, data };
}
