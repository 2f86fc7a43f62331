/**
 * Node entry of `@icot/image`: everything of the default entry, plus Pillow-exact JPEG decoding
 * with libjpeg-turbo (sharp's libvips) and reading image files from disk.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { ImageError, type RgbImage } from '@icot/core';
import sharp from 'sharp';
import { damaged, type JpegInfo, type PngInfo } from './container.js';
import { cmykToRgb, grayToRgb } from './convert.js';
import { decodePreparedPng, prepareImage, type DecodeOptions, type PreparedImage } from './decode.js';
import { applyOrientation } from './orientation.js';

export * from './index.js';

const inflate = (data: Uint8Array): Uint8Array => inflateSync(data);

/**
 * Decodes JPEG data to Pillow's pixels: libjpeg-turbo (sharp's libvips, islow IDCT, fancy
 * upsampling as Pillow uses it) with no colour management (embedded ICC profiles are ignored, as
 * `convert('RGB')` ignores them), no auto-rotation, CMYK taken raw (Adobe inversion as Pillow) and
 * converted with Pillow's `cmyk2rgb`.
 */
async function decodeJpegSharp(prepared: PreparedImage & { info: JpegInfo }): Promise<RgbImage> {
  const { bytes, name, info } = prepared;
  if (info.components !== 1 && info.components !== 3 && info.components !== 4) {
    throw new ImageError(`Cannot decode ${name}: a JPEG with ${info.components} components (Pillow reads 1, 3 or 4).`, {
      hint: 'Re-export the image as an RGB JPEG or PNG.',
    });
  }
  if (info.precision !== 8) {
    throw new ImageError(`Cannot decode ${name}: a ${info.precision}-bit JPEG (Pillow reads 8-bit JPEG only).`, {
      hint: 'Re-export the image as an 8-bit JPEG or PNG.',
    });
  }
  const cmyk = info.components === 4;
  let result;
  try {
    let pipeline = sharp(bytes, { failOn: 'truncated', ignoreIcc: true, autoOrient: false, limitInputPixels: false });
    if (cmyk) pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
    result = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw damaged('JPEG', name, error);
  }
  const { width, height, channels } = result.info;
  const data = new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength);
  if (width !== info.width || height !== info.height) throw damaged('JPEG', name, new Error(`decoded ${width}x${height}, header says ${info.width}x${info.height}`));
  let rgb: RgbImage;
  if (cmyk && channels === 4) {
    // libvips inverts Adobe CMYK like libjpeg's users do; Pillow always reads CMYK as inverted ("CMYK;I").
    if (!info.adobe) for (let i = 0; i < data.length; i++) data[i] = 255 - data[i]!;
    rgb = cmykToRgb(width, height, data);
  } else if (channels === 1) rgb = grayToRgb(width, height, data);
  else if (channels === 3) rgb = { width, height, data };
  else throw damaged('JPEG', name, new Error(`decoded ${channels} channels`));
  return applyOrientation(rgb, prepared.orientation);
}

/**
 * Decodes a PNG or JPEG file to exactly the RGB that Pillow gives Python pipelines: `Image.open`,
 * `ImageOps.exif_transpose`, Pillow's mode conversions (16-bit, palette, gray, CMYK) and
 * transparency composited over white (or dropped with `alpha: 'drop'`). JPEG goes through
 * libjpeg-turbo (sharp), PNG through pngjs with Pillow's rules. The header is checked against the
 * pixel limit before any pixel is decoded. Throws {@link ImageError} like the default entry's
 * `decodeImage`.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const prepared = prepareImage(bytes, options, inflate);
  return prepared.info.format === 'png'
    ? decodePreparedPng(prepared as PreparedImage & { info: PngInfo })
    : decodeJpegSharp(prepared as PreparedImage & { info: JpegInfo });
}

/**
 * Reads a PNG or JPEG file from disk and decodes it with {@link decodeImage} (Pillow-exact). A
 * missing or unreadable file throws {@link ImageError} naming the path and the system's reason.
 */
export async function readImageFile(path: string, options: Omit<DecodeOptions, 'name'> = {}): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : message;
    throw new ImageError(`Cannot read image ${path}: ${reason}.`, {
      hint: 'Check the path and that the file is readable.',
      cause: error,
    });
  }
  return decodeImage(bytes, { ...options, name: path });
}
