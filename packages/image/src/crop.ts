import type { RgbImage } from '@icot/core';
import { assertRgbImage, assertSize } from './image.js';

/**
 * Center-crops to `width` x `height` like Hugging Face's `image_transforms.center_crop`: the
 * window starts at `floor((H - height) / 2)`, `floor((W - width) / 2)`; where the image is
 * smaller than the crop it is padded with black (zeros), with the odd pixel of padding at the
 * top/left. The result is always `width` x `height`.
 */
export function centerCrop(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(image, 'centerCrop');
  assertSize(width, height, 'centerCrop');
  const top = Math.floor((image.height - height) / 2);
  const left = Math.floor((image.width - width) / 2);
  const data = new Uint8Array(width * height * 3);
  // Output columns [x0, x1) and rows [y0, y1) come from the image; the rest stays zero.
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, image.width - left);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(height, image.height - top);
  const rowBytes = (x1 - x0) * 3;
  for (let y = y0; y < y1; y++) {
    const from = ((y + top) * image.width + x0 + left) * 3;
    data.set(image.data.subarray(from, from + rowBytes), (y * width + x0) * 3);
  }
  return { width, height, data };
}
