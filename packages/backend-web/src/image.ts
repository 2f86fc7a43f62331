import { ImageError, OptionError, type RgbImage } from '@icot/core';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage, ImageTooLargeError, readImageHeader, type DecodeOptions } from '@icot/image';

/** Options of {@link decodeBrowserImage}. */
export interface BrowserDecodeOptions extends DecodeOptions {
  /**
   * How JPEG is decoded: `browser` (default; the browser's own decoder through `createImageBitmap`
   * and an OffscreenCanvas, libjpeg-turbo in Chromium and Firefox) or `jpeg-js` (`@icot/image`'s
   * portable decoder: the same pixels in every browser and in Node's default entry, but its IDCT and
   * chroma upsampling differ from libjpeg-turbo's). Neither is guaranteed to equal Pillow: see the
   * package README. PNG is always decoded by `@icot/image` (exactly as Node and Pillow).
   */
  readonly jpeg?: 'browser' | 'jpeg-js';
}

interface BitmapCanvas {
  getContext(kind: '2d', settings: { willReadFrequently: boolean }): {
    drawImage(image: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}

/**
 * Decode PNG or JPEG bytes in a page or worker to 8-bit RGB as Python pipelines see it. PNG goes
 * through `@icot/image`'s environment-neutral decoder: the same pixels as `@icot/image/node` and
 * Pillow (modes, 16-bit, palettes, transparency over white or dropped, EXIF orientation) - except
 * an orientation stored only in a compressed text chunk (zTXt / compressed iTXt, rare), which
 * needs zlib and is not read here. JPEG: see {@link BrowserDecodeOptions.jpeg}. The pixel limit is
 * checked from the header before any decoding.
 */
export async function decodeBrowserImage(bytes: Uint8Array, options: BrowserDecodeOptions = {}): Promise<RgbImage> {
  const name = options.name ?? 'image';
  const header = readImageHeader(bytes, { name });
  if (header.format === 'png' || options.jpeg === 'jpeg-js') return decodeImage(bytes, options);
  const limit = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit > 0)))
    throw new OptionError(`maxPixels must be a positive integer or Infinity (got ${String(limit)}).`, { hint: `Leave it out for the default of ${DEFAULT_MAX_IMAGE_PIXELS} pixels.` });
  if (header.width * header.height > limit) throw new ImageTooLargeError(header.width, header.height, limit, name);
  const scope = globalThis as { createImageBitmap?: (blob: Blob, options: object) => Promise<{ width: number; height: number; close(): void }>; OffscreenCanvas?: new (w: number, h: number) => BitmapCanvas };
  if (!scope.createImageBitmap || !scope.OffscreenCanvas)
    throw new ImageError(`Cannot decode ${name} with the browser's JPEG decoder here: createImageBitmap / OffscreenCanvas are missing.`, { hint: "Pass jpeg: 'jpeg-js' to decode JPEG in JavaScript." });
  let bitmap;
  try {
    bitmap = await scope.createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), {
      // Pillow applies no colour management (convert('RGB') ignores ICC profiles) and no premultiplication
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
      imageOrientation: options.applyExifOrientation === false ? 'none' : 'from-image',
    });
  } catch (error) {
    throw new ImageError(`Cannot decode ${name}: the browser could not read it as JPEG (${(error as Error).message}).`, { hint: 'The file may be damaged; re-export it as PNG or JPEG.', cause: error });
  }
  try {
    const { width, height } = bitmap;
    const context = new scope.OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!context) throw new ImageError(`Cannot decode ${name}: no 2D canvas context.`, { hint: "Pass jpeg: 'jpeg-js'." });
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, width, height).data;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
      data[j] = rgba[i]!;
      data[j + 1] = rgba[i + 1]!;
      data[j + 2] = rgba[i + 2]!;
    }
    return { width, height, data };
  } finally {
    bitmap.close();
  }
}

