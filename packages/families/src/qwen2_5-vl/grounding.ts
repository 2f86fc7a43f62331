import type { Box } from '@icot/core';
import type { Qwen2VlPreprocessorConfig } from '../qwen2-vl/preprocess.js';
import { smartResize } from '../qwen2-vl/smart-resize.js';

/** Width and height in pixels. */
export interface PixelSize {
  readonly width: number;
  readonly height: number;
}

/** A box as a model writes it: `[x1, y1, x2, y2]`, top-left and bottom-right corners, in the model's coordinates. */
export type BoxCorners = readonly [number, number, number, number];

/** One grounded object a model named: its box (model coordinates) and label, when it gave one. */
export interface GroundedBox {
  readonly corners: BoxCorners;
  readonly label?: string;
}

/**
 * The size of the image a Qwen2-VL / Qwen2.5-VL model sees for an image of `size`: the processor's
 * smart resize to multiples of `patch_size x merge_size` within `[min_pixels, max_pixels]` (the size
 * unchanged when `do_resize` is off). `image_grid_thw[1..2] x patch_size` of the processor.
 */
export function qwenResizedSize(size: PixelSize, settings: Pick<Qwen2VlPreprocessorConfig, 'patchSize' | 'mergeSize' | 'minPixels' | 'maxPixels' | 'doResize'>): PixelSize {
  if (!settings.doResize) return { width: size.width, height: size.height };
  const { height, width } = smartResize(size.height, size.width, settings.patchSize * settings.mergeSize, settings.minPixels, settings.maxPixels);
  return { width, height };
}

/** Corners in `[0, width] x [0, height]` of a space of that size, scaled by (sx, sy), as a Box; reversed corners are swapped. */
function scaledBox(corners: BoxCorners, space: PixelSize, sx: number, sy: number): Box {
  const clamp = (v: number, max: number): number => Math.min(Math.max(v, 0), max);
  const [x1, y1, x2, y2] = corners.map((v, i) => clamp(v, i % 2 === 0 ? space.width : space.height)) as unknown as BoxCorners;
  const left = Math.min(x1, x2);
  const top = Math.min(y1, y2);
  return { x: left * sx, y: top * sy, width: Math.abs(x2 - x1) * sx, height: Math.abs(y2 - y1) * sy };
}

/**
 * A Qwen2.5-VL grounding box (`bbox_2d`: absolute pixels of the RESIZED image the model saw,
 * {@link qwenResizedSize}) as a box in the ORIGINAL image of `size`: x scales by
 * `size.width / resized.width`, y by `size.height / resized.height` - as Qwen's
 * spatial-understanding cookbook maps boxes back (`bbox_2d[0] / input_width * width`, with the input
 * size from `image_grid_thw x 14`). Corners are clamped to the resized image and swapped when reversed.
 */
export function qwen25VlBoxToImage(corners: BoxCorners, size: PixelSize, resized: PixelSize): Box {
  return scaledBox(corners, resized, size.width / resized.width, size.height / resized.height);
}

/**
 * A Qwen2-VL grounding box (`<|box_start|>(x1,y1),(x2,y2)<|box_end|>`: coordinates normalised to
 * `[0, 1000)` of the image, whatever its size - the Qwen-VL convention) as a box in the ORIGINAL
 * image of `size`. Corners are clamped to `[0, 1000]` and swapped when reversed.
 */
export function qwen2VlBoxToImage(corners: BoxCorners, size: PixelSize): Box {
  return scaledBox(corners, { width: 1000, height: 1000 }, size.width / 1000, size.height / 1000);
}

const isCorners = (value: unknown): value is BoxCorners => Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number' && Number.isFinite(v));

/** A parsed JSON value's grounded boxes: objects with a four-number `bbox_2d`, alone or in an array. */
function boxesOf(value: unknown): GroundedBox[] {
  const items = Array.isArray(value) ? value : [value];
  const out: GroundedBox[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const { bbox_2d: corners, label } = item as Record<string, unknown>;
    if (isCorners(corners)) out.push(typeof label === 'string' ? { corners, label } : { corners });
  }
  return out;
}

/**
 * The boxes of a Qwen2.5-VL grounding answer: JSON (optionally in a ```json fence) with objects
 * `{"bbox_2d": [x1, y1, x2, y2], "label": "..."}`, alone or in a list. An answer cut short (the
 * token limit) keeps its complete objects; entries without a four-number `bbox_2d` are skipped; no
 * boxes gives `[]`. Corners are in the resized image ({@link qwen25VlBoxToImage}).
 */
export function parseQwen25VlGrounding(text: string): GroundedBox[] {
  const fenced = /```(?:json)?\s*([\s\S]*?)(?:```|$)/.exec(text);
  const body = (fenced ? fenced[1]! : text).trim();
  try {
    return boxesOf(JSON.parse(body));
  } catch {
    // cut short or wrapped in prose: every complete flat object that has a bbox_2d
    return [...body.matchAll(/\{[^{}]*"bbox_2d"[^{}]*\}/g)].flatMap((m) => {
      try {
        return boxesOf(JSON.parse(m[0]));
      } catch {
        return [];
      }
    });
  }
}

/**
 * The boxes of a Qwen2-VL grounding answer: `<|box_start|>(x1,y1),(x2,y2)<|box_end|>`, each labelled
 * by the `<|object_ref_start|>...<|object_ref_end|>` right before it, when there is one. Corners are
 * normalised to `[0, 1000)` ({@link qwen2VlBoxToImage}).
 */
export function parseQwen2VlGrounding(text: string): GroundedBox[] {
  const pattern = /(?:<\|object_ref_start\|>([\s\S]*?)<\|object_ref_end\|>\s*)?<\|box_start\|>\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)\s*,\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)\s*<\|box_end\|>/g;
  return [...text.matchAll(pattern)].map((m) => {
    const corners = [Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])] as const;
    return m[1] !== undefined ? { corners, label: m[1] } : { corners };
  });
}
