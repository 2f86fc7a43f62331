import { ImageError, OptionError, type RgbImage } from '@icot/core';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage, ImageTooLargeError, readImageHeader, type DecodeOptions, type Inflate } from '@icot/image';

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
 * Pillow (modes, 16-bit, palettes, transparency over white or dropped, EXIF orientation, also
 * where it is stored in a compressed text chunk: those are inflated ahead with the browser's
 * DecompressionStream). JPEG: see {@link BrowserDecodeOptions.jpeg}. The pixel limit is checked
 * from the header before any decoding.
 */
export async function decodeBrowserImage(bytes: Uint8Array, options: BrowserDecodeOptions = {}): Promise<RgbImage> {
  const name = options.name ?? 'image';
  const header = readImageHeader(bytes, { name });
  if (header.format === 'png') return decodeImage(bytes, { ...options, inflate: await inflatedTextChunks(bytes) });
  if (options.jpeg === 'jpeg-js') return decodeImage(bytes, options);
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


/** A 32-bit big-endian integer. */
const u32 = (bytes: Uint8Array, at: number): number => ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;

/** zlib data inflated with the browser's DecompressionStream ('deflate' is the zlib format). */
async function inflateZlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * The compressed payloads of a PNG's zTXt and compressed iTXt chunks, inflated ahead (the browser
 * inflates asynchronously; `@icot/image` asks synchronously), as an inflater that answers for those
 * payloads - found again by their position in `bytes` - and throws for anything else (a chunk it
 * cannot read is skipped, as Pillow skips it). Undefined when there are none or no
 * DecompressionStream.
 */
async function inflatedTextChunks(bytes: Uint8Array): Promise<Inflate | undefined> {
  if (typeof DecompressionStream === 'undefined') return undefined;
  const payloads: Uint8Array[] = [];
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = u32(bytes, offset);
    const type = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
    const end = offset + 12 + length;
    if (end > bytes.length || type === 'IEND') break;
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const zero = data.indexOf(0);
    if (zero > 0 && type === 'zTXt') payloads.push(data.subarray(zero + 2));
    else if (zero > 0 && type === 'iTXt' && data[zero + 1] === 1) {
      // keyword \0 flag, method, language \0 translated keyword \0 text
      const language = data.indexOf(0, zero + 3);
      const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
      if (translated >= 0) payloads.push(data.subarray(translated + 1));
    }
    offset = end;
  }
  if (!payloads.length) return undefined;
  const inflated = new Map<number, Uint8Array>();
  for (const payload of payloads) {
    const text = await inflateZlib(payload).catch(() => undefined);
    if (text) inflated.set(payload.byteOffset, text);
  }
  return (data) => {
    const text = inflated.get(data.byteOffset);
    if (!text) throw new Error('not a text chunk payload inflated ahead');
    return text;
  };
}
