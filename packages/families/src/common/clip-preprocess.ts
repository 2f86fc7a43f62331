import type { RgbImage } from '@icot/core';
import { pixelTable } from './pixel-table.js';
import { pilResampleFilter } from './resample.js';
import { centerCrop, resizeImage, type ResampleFilter } from '@icot/image';

/** Settings of CLIP-style preprocessing (resize shortest edge, center crop, rescale, normalize). */
export interface ClipPreprocessorConfig {
  readonly shortestEdge: number | undefined;
  readonly crop: { readonly width: number; readonly height: number } | undefined;
  readonly resample: ResampleFilter;
  readonly rescaleFactor: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly doResize: boolean;
  readonly doCenterCrop: boolean;
  readonly doRescale: boolean;
  readonly doNormalize: boolean;
}

/** Read a CLIPImageProcessor-style `preprocessor_config.json` (also Chameleon's). */
export function readClipPreprocessorConfig(json: Record<string, unknown>): ClipPreprocessorConfig {
  const size = json['size'] as Record<string, number> | number | undefined;
  const crop = json['crop_size'] as Record<string, number> | number | undefined;
  const triple = (key: string, fallback: [number, number, number]): [number, number, number] => {
    const v = json[key];
    return Array.isArray(v) && v.length === 3 ? (v as [number, number, number]) : typeof v === 'number' ? [v, v, v] : fallback;
  };
  const resample = pilResampleFilter(typeof json['resample'] === 'number' ? (json['resample'] as number) : 3);
  return {
    shortestEdge: typeof size === 'number' ? size : size?.['shortest_edge'],
    crop: typeof crop === 'number' ? { width: crop, height: crop } : crop ? { width: crop['width']!, height: crop['height']! } : undefined,
    resample,
    rescaleFactor: typeof json['rescale_factor'] === 'number' ? (json['rescale_factor'] as number) : 1 / 255,
    imageMean: triple('image_mean', [0.48145466, 0.4578275, 0.40821073]),
    imageStd: triple('image_std', [0.26862954, 0.26130258, 0.27577711]),
    doResize: json['do_resize'] !== false,
    doCenterCrop: json['do_center_crop'] !== false,
    doRescale: json['do_rescale'] !== false,
    doNormalize: json['do_normalize'] !== false,
  };
}

/** Output of {@link preprocessClipImage}. */
export interface ClipPixels {
  /** `[1, 3, height, width]` float32, channel-first. */
  readonly pixelValues: Float32Array;
  readonly dims: readonly [1, 3, number, number];
  /** The region of the original image the pixels show (after resize and crop), in original pixels. */
  readonly region: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/** Size after the shortest-edge resize (the long edge truncated, as Hugging Face computes it). */
function resizedSize(width: number, height: number, config: ClipPreprocessorConfig): { width: number; height: number } {
  if (!config.doResize || config.shortestEdge === undefined) return { width, height };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((config.shortestEdge * long) / short);
  return width <= height ? { width: config.shortestEdge, height: newLong } : { width: newLong, height: config.shortestEdge };
}

/** The part of a `width x height` image that CLIP-style preprocessing keeps (after resize and center crop), in original pixels. */
export function clipRegion(width: number, height: number, config: ClipPreprocessorConfig): { x: number; y: number; width: number; height: number } {
  const resized = resizedSize(width, height, config);
  const scaleX = width / resized.width;
  const scaleY = height / resized.height;
  if (!config.doCenterCrop || !config.crop) return { x: 0, y: 0, width, height };
  const top = Math.trunc((resized.height - config.crop.height) / 2);
  const left = Math.trunc((resized.width - config.crop.width) / 2);
  return { x: left * scaleX, y: top * scaleY, width: config.crop.width * scaleX, height: config.crop.height * scaleY };
}

/**
 * CLIP-style preprocessing as Hugging Face's image processors do it: resize so the shortest edge
 * is `shortestEdge` (the long edge truncated), center crop, rescale (float64, then float32) and
 * normalize (float32), channel-first.
 */
export function preprocessClipImage(image: RgbImage, config: ClipPreprocessorConfig): ClipPixels {
  let current = image;
  const target = resizedSize(image.width, image.height, config);
  if (target.width !== image.width || target.height !== image.height) current = resizeImage(image, target.width, target.height, config.resample);
  if (config.doCenterCrop && config.crop) current = centerCrop(current, config.crop.width, config.crop.height);
  const { width, height, data } = current;
  const lut = pixelTable(config);
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = lut[c * 256 + data[i * 3 + c]!]!;
  return {
    pixelValues: out,
    dims: [1, 3, height, width],
    region: clipRegion(image.width, image.height, config),
  };
}
