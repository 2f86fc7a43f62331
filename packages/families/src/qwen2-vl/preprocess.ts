import { ImageError, type RgbImage } from '@icot/core';
import { smartResize } from './smart-resize.js';
import { pixelTable } from '../common/pixel-table.js';
import { pilResampleFilter } from '../common/resample.js';
import { resizeImage } from '@icot/image';

/** Qwen2-VL image processor settings (`preprocessor_config.json`). */
export interface Qwen2VlPreprocessorConfig {
  readonly minPixels: number;
  readonly maxPixels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly rescaleFactor: number;
  readonly doResize: boolean;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
  /** PIL resample code (3 = bicubic). */
  readonly resample: number;
}

/** Read `preprocessor_config.json` of a Qwen2-VL / Qwen2.5-VL model, with Hugging Face defaults. */
export function readQwen2VlPreprocessorConfig(json: Record<string, unknown>): Qwen2VlPreprocessorConfig {
  const n = (key: string, fallback: number): number => (typeof json[key] === 'number' ? (json[key] as number) : fallback);
  const size = (json['size'] as Record<string, unknown> | undefined) ?? {};
  const triple = (key: string, fallback: [number, number, number]): [number, number, number] => {
    const v = json[key];
    return Array.isArray(v) && v.length === 3 ? (v as [number, number, number]) : fallback;
  };
  const b = (key: string): boolean => json[key] !== false;
  return {
    minPixels: n('min_pixels', typeof size['shortest_edge'] === 'number' ? (size['shortest_edge'] as number) : 56 * 56),
    maxPixels: n('max_pixels', typeof size['longest_edge'] === 'number' ? (size['longest_edge'] as number) : 28 * 28 * 1280),
    patchSize: n('patch_size', 14),
    temporalPatchSize: n('temporal_patch_size', 2),
    mergeSize: n('merge_size', 2),
    imageMean: triple('image_mean', [0.48145466, 0.4578275, 0.40821073]),
    imageStd: triple('image_std', [0.26862954, 0.26130258, 0.27577711]),
    rescaleFactor: n('rescale_factor', 1 / 255),
    doResize: b('do_resize'),
    doRescale: b('do_rescale'),
    doNormalize: b('do_normalize'),
    resample: n('resample', 3),
  };
}

/** Output of {@link preprocessQwen2VlImage}. */
export interface Qwen2VlPixels {
  /** Flattened patches, `[patches, channels * temporalPatchSize * patchSize^2]` row-major. */
  readonly pixelValues: Float32Array;
  readonly dims: readonly [number, number];
  /** `[t, h, w]` in patches before merging (what the vision encoder's `grid_thw` takes). */
  readonly gridThw: readonly [number, number, number];
  /** Size the image was resized to. */
  readonly resized: { readonly width: number; readonly height: number };
}

/**
 * Qwen2-VL image preprocessing as the Hugging Face image processor does it: smart resize to
 * multiples of patch x merge within [min, max] pixels (bicubic), rescale, normalize, and
 * patchify to `[grid_t * grid_h * grid_w, 3 * temporal * patch * patch]` with 2x2 merge blocks
 * kept together. A still image is repeated over the temporal patch.
 */
export function preprocessQwen2VlImage(image: RgbImage, config: Qwen2VlPreprocessorConfig): Qwen2VlPixels {
  const { patchSize, mergeSize, temporalPatchSize } = config;
  if (image.width < 1 || image.height < 1) throw new ImageError('The image is empty (0 pixels).');
  const factor = patchSize * mergeSize;
  let resized = image;
  if (config.doResize) {
    const target = smartResize(image.height, image.width, factor, config.minPixels, config.maxPixels);
    if (target.width !== image.width || target.height !== image.height) {
      resized = resizeImage(image, target.width, target.height, pilResampleFilter(config.resample));
    }
  }
  const { width, height } = resized;
  if (width % factor || height % factor)
    throw new ImageError(`The image is ${width}x${height}, not a multiple of ${factor}; enable resizing (do_resize) in preprocessor_config.json.`);
  const lut = pixelTable(config);
  const gridH = height / patchSize;
  const gridW = width / patchSize;
  const patchCount = gridH * gridW;
  const area = patchSize * patchSize;
  const dim = 3 * temporalPatchSize * area;
  const out = new Float32Array(patchCount * dim);
  const src = resized.data;
  let patch = 0;
  for (let bh = 0; bh < gridH / mergeSize; bh++)
    for (let bw = 0; bw < gridW / mergeSize; bw++)
      for (let mh = 0; mh < mergeSize; mh++)
        for (let mw = 0; mw < mergeSize; mw++) {
          const y0 = (bh * mergeSize + mh) * patchSize;
          const x0 = (bw * mergeSize + mw) * patchSize;
          const base = patch * dim;
          for (let c = 0; c < 3; c++)
            for (let py = 0; py < patchSize; py++)
              for (let px = 0; px < patchSize; px++) {
                const value = lut[c * 256 + src[((y0 + py) * width + x0 + px) * 3 + c]!]!;
                const within = py * patchSize + px;
                for (let t = 0; t < temporalPatchSize; t++) out[base + (c * temporalPatchSize + t) * area + within] = value;
              }
          patch += 1;
        }
  return { pixelValues: out, dims: [patchCount, dim], gridThw: [1, gridH, gridW], resized: { width, height } };
}
