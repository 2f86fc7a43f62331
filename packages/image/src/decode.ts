import { ImageError, type RgbImage } from '@icot/core';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { damaged, readContainer, type Inflate, type JpegInfo, type PngInfo } from './container.js';
import { toRgb, type AlphaHandling } from './convert.js';
import { assertRgbImage } from './image.js';
import { checkPixelLimit, resolvePixelLimit } from './limits.js';
import { applyOrientation, jpegOrientation, pngOrientation, type Orientation } from './orientation.js';
import { decodePngPixels, toBuffer } from './png.js';

/** Options of {@link decodeImage} (and of the Node entry's `decodeImage` / `readImageFile`). */
export interface DecodeOptions {
  /** File name or path used in error messages (default `image`). */
  readonly name?: string;
  /**
   * Transparency (RGBA, gray+alpha, palette or colour-key tRNS): `composite` over white (default)
   * or `drop` (Pillow's `convert('RGB')`, as transformers' `load_image`). See {@link AlphaHandling}.
   */
  readonly alpha?: AlphaHandling;
  /** Apply the EXIF/XMP orientation like `ImageOps.exif_transpose` (default true). */
  readonly applyExifOrientation?: boolean;
  /**
   * Refuse images whose header declares more pixels than this, before decoding (default
   * {@link DEFAULT_MAX_IMAGE_PIXELS}, Pillow's `MAX_IMAGE_PIXELS`; `Infinity` for no limit).
   */
  readonly maxPixels?: number;
  /**
   * A synchronous zlib inflater for compressed PNG text chunks (zTXt, compressed iTXt), where an
   * EXIF orientation may be stored as ImageMagick's "Raw profile type exif": without one such
   * chunks are skipped. The Node entry passes `zlib.inflateSync`; in a browser,
   * `@icot/backend-web`'s `decodeBrowserImage` inflates them ahead with DecompressionStream.
   */
  readonly inflate?: Inflate;
}

/** A file whose container was read and checked against the pixel limit, ready to decode. */
export interface PreparedImage {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly info: PngInfo | JpegInfo;
  readonly alpha: AlphaHandling;
  readonly orientation: Orientation;
}

/** Reads the container, validates options and applies the pixel limit (no pixels decoded yet). */
export function prepareImage(bytes: Uint8Array, options: DecodeOptions, inflate: Inflate | undefined = options.inflate): PreparedImage {
  const name = options.name ?? 'image';
  const limit = resolvePixelLimit(options.maxPixels);
  const alpha = options.alpha ?? 'composite';
  if (alpha !== 'composite' && alpha !== 'drop') throw new ImageError(`Unknown alpha handling '${String(alpha)}'.`, { hint: "Use 'composite' or 'drop'." });
  const info = readContainer(bytes, name, inflate);
  checkPixelLimit(info, limit, name);
  const orientation = options.applyExifOrientation === false ? 1 : info.format === 'png' ? pngOrientation(info) : jpegOrientation(info);
  return { bytes, name, info, alpha, orientation };
}

/** Decodes a prepared PNG (Pillow's mode rules, alpha handling, orientation). */
export function decodePreparedPng(prepared: PreparedImage & { info: PngInfo }): RgbImage {
  const rgb = toRgb(decodePngPixels(prepared.bytes, prepared.info, prepared.name), prepared.alpha);
  return applyOrientation(rgb, prepared.orientation);
}

function decodeJpegJs(prepared: PreparedImage & { info: JpegInfo }): RgbImage {
  const { bytes, name, info } = prepared;
  let decoded;
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // The pixel limit was checked above; let jpeg-js allocate what that allows.
      maxResolutionInMP: Math.max(100, Math.ceil((info.width * info.height) / 1e6)),
      maxMemoryUsageInMB: Math.max(512, Math.ceil((info.width * info.height * 16) / 2 ** 20)),
    });
  } catch (error) {
    throw damaged('JPEG', name, error);
  }
  const { width, height, data } = decoded;
  if (!width || !height || data.length !== width * height * 3) throw damaged('JPEG', name, new Error('no image data found'));
  return applyOrientation({ width, height, data }, prepared.orientation);
}

/**
 * Decodes a PNG or JPEG file (detected by its magic bytes, not its name) into 8-bit RGB as Python
 * pipelines see it: `Image.open`, `ImageOps.exif_transpose`, then RGB with Pillow's mode rules and
 * transparency composited over white (or dropped, `alpha: 'drop'`). Browser-safe and synchronous.
 *
 * PNG decoding here is exact (lossless data, Pillow's conversions). JPEG decoding uses jpeg-js,
 * whose IDCT and chroma upsampling differ from libjpeg-turbo's: samples can differ from Pillow's
 * by many levels. For Pillow-exact JPEG use `decodeImage` from `@icot/image/node` (libjpeg-turbo
 * via sharp). Throws {@link ImageError} naming `options.name` when the data is empty, of another
 * format or damaged, and {@link ImageTooLargeError} above the pixel limit.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbImage {
  const prepared = prepareImage(bytes, options);
  return prepared.info.format === 'png'
    ? decodePreparedPng(prepared as PreparedImage & { info: PngInfo })
    : decodeJpegJs(prepared as PreparedImage & { info: JpegInfo });
}

/** Encodes an RGB image as an 8-bit truecolour PNG (for reports and tests). */
export function encodePng(image: RgbImage): Uint8Array {
  assertRgbImage(image, 'encodePng');
  const { width, height, data } = image;
  const buffer = pngjs.PNG.sync.write({ width, height, data: toBuffer(data) }, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
