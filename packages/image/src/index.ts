/**
 * Image decoding (PNG, JPEG) to 8-bit RGB and Pillow-compatible resizing and cropping, for
 * vision-language preprocessing that must match the Python reference pipelines bit for bit.
 * @module
 */
export { decodeImage, encodePng, type DecodeOptions } from './decode.js';
export { readImageFile } from './fs.js';
export { resizeImage, type ResampleFilter } from './resize.js';
export { centerCrop } from './crop.js';
