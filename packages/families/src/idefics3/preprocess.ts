import { ImageError, ModelConfigError, type PatchGrid, type RgbImage } from '@icot/core';
import { resizeImage, type ResampleFilter } from '@icot/image';
import { pixelTable } from '../common/pixel-table.js';
import { pilResampleFilter } from '../common/resample.js';

/**
 * Settings of the Idefics3 / SmolVLM image processor (`preprocessor_config.json`), with the
 * defaults of transformers' `SmolVLMImageProcessor` / `Idefics3ImageProcessor`.
 */
export interface Idefics3PreprocessorConfig {
  readonly doResize: boolean;
  /** `size.longest_edge`: the first resize makes the long edge exactly this (up or down). */
  readonly longestEdge: number;
  readonly doImageSplitting: boolean;
  /** `max_image_size.longest_edge`: the side of every tile and of the global image. */
  readonly tileSize: number;
  readonly resample: ResampleFilter;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
}

/** transformers' absolute cap on the first resize (image_processing_smolvlm.py `MAX_IMAGE_SIZE`). */
export const IDEFICS3_MAX_IMAGE_SIZE = 4096;

/** Read an Idefics3 / SmolVLM `preprocessor_config.json` (missing keys take transformers' defaults). */
export function readIdefics3PreprocessorConfig(json: Record<string, unknown>): Idefics3PreprocessorConfig {
  const edge = (key: string, fallback: number): number => {
    const value = (json[key] as Record<string, unknown> | undefined)?.['longest_edge'] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      throw new ModelConfigError(`preprocessor_config.json: ${key}.longest_edge must be a positive integer (got ${JSON.stringify(value)}).`, {
        hint: 'Use the preprocessor_config.json that belongs to this SmolVLM / Idefics3 export.',
      });
    return value;
  };
  const triple = (key: string): [number, number, number] => {
    const v = json[key];
    return Array.isArray(v) && v.length === 3 ? (v as [number, number, number]) : typeof v === 'number' ? [v, v, v] : [0.5, 0.5, 0.5];
  };
  const longestEdge = edge('size', 4 * 364);
  if (longestEdge > IDEFICS3_MAX_IMAGE_SIZE)
    throw new ModelConfigError(`preprocessor_config.json: size.longest_edge ${longestEdge} is above the processor's cap of ${IDEFICS3_MAX_IMAGE_SIZE}.`, {
      hint: `Use a longest_edge of at most ${IDEFICS3_MAX_IMAGE_SIZE}.`,
    });
  return {
    doResize: json['do_resize'] !== false,
    longestEdge,
    doImageSplitting: json['do_image_splitting'] !== false,
    tileSize: edge('max_image_size', 364),
    resample: pilResampleFilter(typeof json['resample'] === 'number' ? (json['resample'] as number) : 1),
    doRescale: json['do_rescale'] !== false,
    rescaleFactor: typeof json['rescale_factor'] === 'number' ? (json['rescale_factor'] as number) : 1 / 255,
    doNormalize: json['do_normalize'] !== false,
    imageMean: triple('image_mean'),
    imageStd: triple('image_std'),
  };
}

/** Width and height in pixels. */
export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/**
 * Size after the processor's first resize: the long edge becomes `longestEdge`, the other
 * `trunc(edge x aspect)` rounded up to even, then both scaled below {@link IDEFICS3_MAX_IMAGE_SIZE}
 * (`_resize_output_size_rescale_to_max_len` then `_resize_output_size_scale_below_upper_bound`).
 */
export function idefics3ResizedSize(size: ImageSize, longestEdge: number): ImageSize {
  let { width, height } = size;
  let ratio = width / height;
  if (width >= height) {
    width = longestEdge;
    height = Math.trunc(width / ratio);
    if (height % 2 !== 0) height += 1;
  } else {
    height = longestEdge;
    width = Math.trunc(height * ratio);
    if (width % 2 !== 0) width += 1;
  }
  height = Math.max(height, 1);
  width = Math.max(width, 1);
  ratio = width / height;
  if (width >= height && width > IDEFICS3_MAX_IMAGE_SIZE) {
    width = IDEFICS3_MAX_IMAGE_SIZE;
    height = Math.trunc(width / ratio);
  } else if (height > width && height > IDEFICS3_MAX_IMAGE_SIZE) {
    height = IDEFICS3_MAX_IMAGE_SIZE;
    width = Math.trunc(height * ratio);
  }
  return { width: Math.max(width, 1), height: Math.max(height, 1) };
}

/**
 * Size the processor resizes to before cutting tiles (`resize_for_vision_encoder`): the long edge
 * rounded up to a multiple of `tileSize`, the short edge derived from it by the aspect ratio
 * (truncated) and rounded up to a multiple of `tileSize` too.
 */
export function idefics3EncoderSize(size: ImageSize, tileSize: number): ImageSize {
  let { width, height } = size;
  const ratio = width / height;
  if (width >= height) {
    width = Math.ceil(width / tileSize) * tileSize;
    height = Math.ceil(Math.trunc(width / ratio) / tileSize) * tileSize;
  } else {
    height = Math.ceil(height / tileSize) * tileSize;
    width = Math.ceil(Math.trunc(height * ratio) / tileSize) * tileSize;
  }
  return { width, height };
}

/**
 * How one image is laid out for the model, computed from sizes alone (no pixels): the frames
 * the vision encoder sees are `grid.rows x grid.cols` tiles in raster order followed by the global
 * image, or a single frame when `grid` is 0 x 0 (image not split).
 */
export interface Idefics3ImagePlan {
  /** Size of the original image. */
  readonly size: ImageSize;
  /** After the longest-edge resize (the original size when `do_resize` is off). */
  readonly resized: ImageSize;
  /** The image the tiles are cut from (`grid.cols x tileSize` by `grid.rows x tileSize`), or the single frame's size. */
  readonly encoderSize: ImageSize;
  /** Tile rows and columns; `{ rows: 0, cols: 0 }` when the image is one frame (the processor's `rows` / `cols`). */
  readonly grid: PatchGrid;
  /** Side of every frame in pixels (`max_image_size.longest_edge`). */
  readonly tileSize: number;
  /** Frames given to the vision encoder: `rows * cols + 1`, or 1. */
  readonly frameCount: number;
}

/** The layout of an image of `size` under `config` (see {@link Idefics3ImagePlan}). */
export function planIdefics3Image(image: ImageSize, config: Idefics3PreprocessorConfig): Idefics3ImagePlan {
  if (!(image.width >= 1 && image.height >= 1)) throw new ImageError(`The image is empty (${image.width}x${image.height} pixels).`);
  const size = { width: image.width, height: image.height };
  const tile = config.tileSize;
  const resized = config.doResize ? idefics3ResizedSize(size, config.longestEdge) : size;
  if (!config.doImageSplitting) return { size, resized, encoderSize: { width: tile, height: tile }, grid: { rows: 0, cols: 0 }, tileSize: tile, frameCount: 1 };
  const encoderSize = idefics3EncoderSize(resized, tile);
  const split = encoderSize.width > tile || encoderSize.height > tile;
  const grid = split ? { rows: encoderSize.height / tile, cols: encoderSize.width / tile } : { rows: 0, cols: 0 };
  return { size, resized, encoderSize, grid, tileSize: tile, frameCount: split ? grid.rows * grid.cols + 1 : 1 };
}

/** Output of {@link preprocessIdefics3Image}. */
export interface Idefics3Pixels {
  /** `[1, frames, 3, tileSize, tileSize]` float32, channel-first: the tiles in raster order, then the global image. */
  readonly pixelValues: Float32Array;
  readonly dims: readonly [1, number, 3, number, number];
  /** `[1, frames, tileSize, tileSize]`, 1 for real pixels (a bool tensor; one image is never padded, so all 1). */
  readonly pixelAttentionMask: Uint8Array;
  readonly maskDims: readonly [1, number, number, number];
  readonly plan: Idefics3ImagePlan;
}

function resizeTo(image: RgbImage, size: ImageSize, filter: ResampleFilter): RgbImage {
  return image.width === size.width && image.height === size.height ? image : resizeImage(image, size.width, size.height, filter);
}

/**
 * Idefics3 / SmolVLM preprocessing as transformers' slow (PIL) `SmolVLMImageProcessor` does it
 * for one image: resize the long edge to `size.longest_edge` (Pillow-exact, LANCZOS by
 * default), resize to multiples of `max_image_size.longest_edge`, cut that into tiles (raster
 * order) and append the whole image resized to one tile (the global image); without splitting,
 * square the image to one tile. Then rescale (float64, then float32) and normalize (float32).
 * Bit-exact against the Pillow + numpy goldens of `test/idefics3-goldens`.
 */
export function preprocessIdefics3Image(image: RgbImage, config: Idefics3PreprocessorConfig): Idefics3Pixels {
  const plan = planIdefics3Image(image, config);
  const tile = plan.tileSize;
  const filter = config.resample;
  const resized = resizeTo(image, plan.resized, filter);
  const encoderImage = resizeTo(resized, plan.encoderSize, filter);
  const frames = plan.frameCount;
  const area = tile * tile;
  const out = new Float32Array(frames * 3 * area);
  const lut = pixelTable(config);
  // Frame f at (x0, y0) of `source` (whose width is `stride`) -> channel-first block f of `out`.
  const put = (f: number, source: Uint8Array, stride: number, x0: number, y0: number): void => {
    const base = f * 3 * area;
    for (let y = 0; y < tile; y++) {
      let p = ((y0 + y) * stride + x0) * 3;
      const row = y * tile;
      for (let x = 0; x < tile; x++, p += 3) {
        out[base + row + x] = lut[source[p]!]!;
        out[base + area + row + x] = lut[256 + source[p + 1]!]!;
        out[base + 2 * area + row + x] = lut[512 + source[p + 2]!]!;
      }
    }
  };
  const { rows, cols } = plan.grid;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) put(r * cols + c, encoderImage.data, encoderImage.width, c * tile, r * tile);
  const whole = resizeTo(encoderImage, { width: tile, height: tile }, filter);
  put(frames - 1, whole.data, tile, 0, 0);
  return {
    pixelValues: out,
    dims: [1, frames, 3, tile, tile],
    pixelAttentionMask: new Uint8Array(frames * area).fill(1),
    maskDims: [1, frames, tile, tile],
    plan,
  };
}
