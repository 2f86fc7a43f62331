import { ImageError } from '@icot/core';

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Qwen2-VL's `smart_resize`: the size closest to (height, width) whose sides are multiples of
 * `factor` and whose area lies within [minPixels, maxPixels], keeping the aspect ratio.
 */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number): { height: number; width: number } {
  if (Math.max(height, width) / Math.min(height, width) > 200)
    throw new ImageError(`The image's aspect ratio ${width}x${height} is more extreme than 200:1, which Qwen2-VL does not accept.`, {
      hint: 'Crop or pad the image to a less extreme aspect ratio.',
    });
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}
