import type { RgbImage } from '@icot/core';
import { ascii, type JpegInfo, type PngInfo } from './container.js';

/** EXIF orientation, 1 (as stored) to 8. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
/** Byte sizes of the TIFF field types that can hold an integer. */
const INTEGER_TYPES: Readonly<Record<number, number>> = { 1: 1, 3: 2, 4: 4, 6: 1, 8: 2, 9: 4 };

/**
 * The Orientation tag (0x0112) of IFD0 in EXIF data, as Pillow's `Image.Exif` reads it: the data
 * may start with `Exif\0\0`; a single integer value counts, anything else (missing, several values,
 * damaged) is no orientation.
 */
export function exifOrientation(data: Uint8Array): number | undefined {
  const tiff = ascii(data, 0, 6) === 'Exif\0\0' ? data.subarray(6) : data;
  if (tiff.length < 8) return undefined;
  const order = ascii(tiff, 0, 4);
  const little = order === 'II*\0';
  if (!little && order !== 'MM\0*') return undefined;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return undefined;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    const type = view.getUint16(entry + 2, little);
    const size = INTEGER_TYPES[type];
    if (!size || view.getUint32(entry + 4, little) !== 1) return undefined;
    if (size === 1) return type === 6 ? view.getInt8(entry + 8) : view.getUint8(entry + 8);
    if (size === 2) return type === 8 ? view.getInt16(entry + 8, little) : view.getUint16(entry + 8, little);
    return type === 9 ? view.getInt32(entry + 8, little) : view.getUint32(entry + 8, little);
  }
  return undefined;
}

/** `tiff:Orientation` in XMP, with Pillow's pattern `tiff:Orientation(="|>)([0-9])`. */
export function xmpOrientation(xmp: string): number | undefined {
  const match = /tiff:Orientation(="|>)([0-9])/.exec(xmp);
  return match ? Number(match[2]) : undefined;
}

function asOrientation(value: number | undefined): Orientation {
  return value !== undefined && Number.isInteger(value) && value >= 1 && value <= 8 ? (value as Orientation) : 1;
}

/** "Raw profile type exif" (ImageMagick): hex from the 4th line on, as Pillow's `getexif` reads it. */
function rawProfileExif(text: string): Uint8Array | undefined {
  const hex = text.split('\n').slice(3).join('').replace(/\s+/g, '');
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/**
 * The orientation `ImageOps.exif_transpose` applies to a PNG: the eXIf chunk (before the image data,
 * else after it), else the "Raw profile type exif" text chunk; when that has no Orientation, XMP's
 * `tiff:Orientation` in the "XML:com.adobe.xmp" text chunk (Pillow's `Image.getexif`).
 */
export function pngOrientation(info: PngInfo): Orientation {
  const profile = info.text.get('Raw profile type exif');
  const exif = info.exifBeforeData ?? info.exifAfterData ?? (profile !== undefined ? rawProfileExif(profile) : undefined);
  let value = exif ? exifOrientation(exif) : undefined;
  if (value === undefined) {
    const xmp = info.text.get('XML:com.adobe.xmp');
    if (xmp !== undefined) value = xmpOrientation(xmp);
  }
  return asOrientation(value);
}

/**
 * The orientation `ImageOps.exif_transpose` applies to a JPEG: the first APP1 Exif segment's
 * Orientation, else `tiff:Orientation` in the APP1 XMP packet (current Pillow; 9.4 reads no JPEG XMP).
 */
export function jpegOrientation(info: JpegInfo): Orientation {
  let value = info.exif ? exifOrientation(info.exif) : undefined;
  if (value === undefined && info.xmp !== undefined) value = xmpOrientation(info.xmp);
  return asOrientation(value);
}

/**
 * Transposes an RGB image to display orientation as Pillow's `ImageOps.exif_transpose`: 2 mirror,
 * 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
 * counter-clockwise. Orientation 1 returns the image itself.
 */
export function applyOrientation(image: RgbImage, orientation: Orientation): RgbImage {
  if (orientation === 1) return image;
  const { width: w, height: h, data: src } = image;
  const swap = orientation >= 5;
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const out = new Uint8Array(src.length);
  // (x, y) in the output reads source pixel (sx, sy).
  const source: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * w + (w - 1 - x),
    3: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    4: (x: number, y: number) => (h - 1 - y) * w + x,
    5: (x: number, y: number) => x * w + y,
    6: (x: number, y: number) => (h - 1 - x) * w + y,
    7: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
    8: (x: number, y: number) => x * w + (w - 1 - y),
  }[orientation];
  for (let y = 0, o = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += 3) {
      const p = source(x, y) * 3;
      out[o] = src[p]!;
      out[o + 1] = src[p + 1]!;
      out[o + 2] = src[p + 2]!;
    }
  }
  return { width: outW, height: outH, data: out };
}
