import type { Box, EncodedImage } from '@icot/core';
import { parseQwen25VlGrounding, parseQwen2VlGrounding, qwen25VlBoxToImage, qwen2VlBoxToImage, type BoxCorners } from '@icot/families';

/** A box form a VLM can answer in (see {@link GroundingSelectorOptions.form}). */
export type BoxForm = 'qwen2-vl' | 'qwen2.5-vl' | 'plain';

/** A box as the model wrote it, in its own coordinates, with the text it labelled it with. */
export interface AnsweredBox {
  /** `[x1, y1, x2, y2]` as written (any order, any range; finite numbers). */
  readonly corners: BoxCorners;
  readonly label?: string;
}

/** Merged Qwen2-VL / Qwen2.5-VL image tokens cover 28 x 28 pixels of the resized image (14 px patches, 2 x 2 merge). */
export const QWEN_MERGED_PATCH_PIXELS = 28;

const finite = (box: AnsweredBox): boolean => box.corners.length === 4 && box.corners.every((v) => Number.isFinite(v));

/** `(x1,y1),(x2,y2)` written as plain text (integers or decimals, spaces allowed). */
const PLAIN_BOX = /\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)\s*,\s*\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)/g;

/**
 * The boxes of a grounding answer, in the model's coordinates, in the order written:
 * - `qwen2-vl`: `<|box_start|>(x1,y1),(x2,y2)<|box_end|>`, each labelled by the
 *   `<|object_ref_start|>...<|object_ref_end|>` right before it (`@icot/families`' parser);
 * - `qwen2.5-vl`: JSON objects with a four-number `bbox_2d` (a ```json fence, a list or one object,
 *   or complete objects of an answer cut short; `@icot/families`' parser), and Qwen2-VL box tokens
 *   when the model writes those instead;
 * - `plain`: every `(x1,y1),(x2,y2)` in the text.
 * Malformed boxes (missing numbers, unclosed, not numbers such as `1.2.3`) are skipped; an answer
 * without a box gives `[]`. Coordinates are not checked here: {@link answeredBoxToImage} clamps them.
 */
export function parseGroundingAnswer(text: string, form: BoxForm): AnsweredBox[] {
  let boxes: AnsweredBox[];
  if (form === 'qwen2-vl') boxes = parseQwen2VlGrounding(text);
  else if (form === 'qwen2.5-vl') {
    boxes = parseQwen25VlGrounding(text);
    if (!boxes.length) boxes = parseQwen2VlGrounding(text);
  } else boxes = [...text.matchAll(PLAIN_BOX)].map((m) => ({ corners: [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as const }));
  return boxes.filter(finite);
}

/** Size of the resized image a Qwen2-VL / Qwen2.5-VL model saw for `image`: its merged grid times 28 px. */
export function qwenResizedSize(image: Pick<EncodedImage, 'grid'>): { readonly width: number; readonly height: number } {
  return { width: image.grid.cols * QWEN_MERGED_PATCH_PIXELS, height: image.grid.rows * QWEN_MERGED_PATCH_PIXELS };
}

/**
 * A box of the answer as a box in the ORIGINAL image (`image.size` pixels), or undefined when it
 * has no area there. Coordinates are in [0, 1000) of the image for `qwen2-vl` and `plain` (the
 * Qwen2-VL convention), in pixels of the resized image for `qwen2.5-vl` ({@link qwenResizedSize}).
 *
 * Policy for boxes as models write them: reversed corners are swapped (`(x2,y2),(x1,y1)` is the
 * same box); coordinates outside the space are clamped to it (`1200` becomes `1000`, `-5` becomes
 * `0`); a box that has no area after that (both corners equal in x or y, or wholly outside the
 * image) is rejected (undefined), so it never selects patches.
 */
export function answeredBoxToImage(box: AnsweredBox, form: BoxForm, image: Pick<EncodedImage, 'grid' | 'size'>): Box | undefined {
  const mapped = form === 'qwen2.5-vl' ? qwen25VlBoxToImage(box.corners, image.size, qwenResizedSize(image)) : qwen2VlBoxToImage(box.corners, image.size);
  if (![mapped.x, mapped.y, mapped.width, mapped.height].every(Number.isFinite) || mapped.width <= 0 || mapped.height <= 0) return undefined;
  return mapped;
}
