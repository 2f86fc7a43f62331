/**
 * Image decoding (PNG, JPEG) to 8-bit RGB as Pillow gives it to Python pipelines (EXIF orientation,
 * mode conversions, transparency over white), a decompression-bomb guard, and Pillow-compatible
 * resizing and cropping, for vision-language preprocessing that must match the Python reference
 * pipelines bit for bit. Browser-safe: JPEG here is decoded by jpeg-js (approximate); the Node
 * entry `@icot/image/node` decodes JPEG with libjpeg-turbo, exactly as Pillow, and reads files.
 * @module
 */
export { decodeImage, encodePng, type DecodeOptions } from './decode.js';
export { readImageHeader, type ImageHeader, type Inflate } from './container.js';
export type { AlphaHandling } from './convert.js';
export { DEFAULT_MAX_IMAGE_PIXELS, ImageTooLargeError } from './limits.js';
export { applyOrientation, type Orientation } from './orientation.js';
export { resizeImage, type ResampleFilter } from './resize.js';
export { centerCrop } from './crop.js';
