import { OptionError, type RgbImage } from '@icot/core';

/** Throws {@link OptionError} unless `image` has positive integer dimensions and `width*height*3` bytes. */
export function assertRgbImage(image: RgbImage, what: string): void {
  const { width, height, data } = image;
  if (!isPositiveInteger(width) || !isPositiveInteger(height) || data.length !== width * height * 3) {
    throw new OptionError(`${what}: the image must be width*height*3 bytes of RGB with positive integer sizes (got ${width}x${height} and ${data.length} bytes).`, {
      hint: 'Pass an RgbImage as returned by decodeImage.',
    });
  }
}

/** Throws {@link OptionError} unless `width` and `height` are positive integers. */
export function assertSize(width: number, height: number, what: string): void {
  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new OptionError(`${what}: the target size must be positive integers (got ${width}x${height}).`, {
      hint: 'Round the size to whole pixels of at least 1.',
    });
  }
}

function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

/** A copy of `image` with its own pixel buffer. */
export function copyImage(image: RgbImage): RgbImage {
  return { width: image.width, height: image.height, data: image.data.slice() };
}
