import { PromptError, type Box, type PatchGrid } from '@icot/core';
import type { Idefics3ImagePlan } from './preprocess.js';

/**
 * Where image token `index` of an Idefics3 / SmolVLM image comes from. Tokens are in the order
 * the vision encoder returns them and the prompt holds them: `imageSeqLen` tokens per frame,
 * frames in order (tiles in raster order, then the global image), and within a frame in raster
 * order of its `tokensPerSide x tokensPerSide` grid (the connector's pixel shuffle keeps raster
 * order: token (i, j) is the `scale_factor x scale_factor` block of patches at rows
 * `i * scale_factor ...`, columns `j * scale_factor ...`; transformers' `Idefics3Connector.pixel_shuffle`).
 */
export interface Idefics3TokenOrigin {
  /** Frame index: `tileRow * cols + tileCol` for a tile, `frameCount - 1` for the global image. */
  readonly frame: number;
  /** Tile row and column (0-based), or `undefined` for the global (or only) frame. */
  readonly tile: { readonly row: number; readonly col: number } | undefined;
  /** Token row and column within its frame's grid. */
  readonly row: number;
  readonly col: number;
}

/** Number of image tokens of an image: `frameCount * tokensPerSide^2`. */
export function idefics3TokenCount(plan: Idefics3ImagePlan, tokensPerSide: number): number {
  return plan.frameCount * tokensPerSide * tokensPerSide;
}

/** The frame and grid cell of image token `index` (see {@link Idefics3TokenOrigin}). */
export function idefics3TokenOrigin(plan: Idefics3ImagePlan, tokensPerSide: number, index: number): Idefics3TokenOrigin {
  const perFrame = tokensPerSide * tokensPerSide;
  const count = plan.frameCount * perFrame;
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new PromptError(`Image token ${index} does not exist: the image has ${count} image tokens (${plan.frameCount} frame(s) of ${perFrame}).`, {
      hint: `Use an index from 0 to ${count - 1}.`,
    });
  const frame = Math.floor(index / perFrame);
  const within = index % perFrame;
  const row = Math.floor(within / tokensPerSide);
  const col = within % tokensPerSide;
  const { rows, cols } = plan.grid;
  const tile = frame < rows * cols ? { row: Math.floor(frame / cols), col: frame % cols } : undefined;
  return { frame, tile, row, col };
}

/**
 * Pixel box in the ORIGINAL image of image token `index`. A tile token covers its cell of its
 * tile, mapped back through the two resizes (each a plain scaling of the whole image, so x scales
 * by `size.width / encoderSize.width` and y by `size.height / encoderSize.height`); a token of the
 * global image (or of the only frame) covers its cell of the whole image.
 */
export function idefics3TokenBox(plan: Idefics3ImagePlan, tokensPerSide: number, index: number): Box {
  const { tile, row, col } = idefics3TokenOrigin(plan, tokensPerSide, index);
  const { width, height } = plan.size;
  if (!tile) {
    const cellWidth = width / tokensPerSide;
    const cellHeight = height / tokensPerSide;
    return { x: col * cellWidth, y: row * cellHeight, width: cellWidth, height: cellHeight };
  }
  const scaleX = width / plan.encoderSize.width;
  const scaleY = height / plan.encoderSize.height;
  const cell = plan.tileSize / tokensPerSide;
  return {
    x: (tile.col * plan.tileSize + col * cell) * scaleX,
    y: (tile.row * plan.tileSize + row * cell) * scaleY,
    width: cell * scaleX,
    height: cell * scaleY,
  };
}

/** The boxes of every image token of an image, in token order (see {@link idefics3TokenBox}). */
export function idefics3TokenBoxes(plan: Idefics3ImagePlan, tokensPerSide: number): Box[] {
  return Array.from({ length: idefics3TokenCount(plan, tokensPerSide) }, (_, i) => idefics3TokenBox(plan, tokensPerSide, i));
}

/**
 * One frame of an image as a tile of the spec's tiled images: its token grid, its first image
 * token, the original-image rectangle it shows, and its place in the tiling (`'global'` for the
 * global image, and for the only frame of an image that is not split).
 */
export interface Idefics3Tile {
  readonly grid: PatchGrid;
  readonly firstPatch: number;
  readonly box: Box;
  readonly place: { readonly row: number; readonly col: number } | 'global';
}

/** The frames of an image in token order (tiles in raster order, then the global image), see {@link Idefics3Tile}. */
export function idefics3Tiles(plan: Idefics3ImagePlan, tokensPerSide: number): Idefics3Tile[] {
  const perFrame = tokensPerSide * tokensPerSide;
  const grid = { rows: tokensPerSide, cols: tokensPerSide };
  return Array.from({ length: plan.frameCount }, (_, frame) => {
    const first = idefics3TokenBox(plan, tokensPerSide, frame * perFrame);
    const tile = idefics3TokenOrigin(plan, tokensPerSide, frame * perFrame).tile;
    return {
      grid,
      firstPatch: frame * perFrame,
      box: { x: first.x, y: first.y, width: first.width * tokensPerSide, height: first.height * tokensPerSide },
      place: tile ?? 'global',
    };
  });
}
