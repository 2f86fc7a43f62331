import type { RgbImage } from '@icot/core';

/**
 * What happens to transparency when an image becomes RGB:
 * - `composite` (default): alpha-composited over opaque white with the integer arithmetic of
 *   Pillow's `Image.alpha_composite`, as the `convert_to_rgb` of transformers' Idefics2/Mllama
 *   processors does (convert('RGBA'), composite over white, convert('RGB')): transparent pixels
 *   become white, as people see them.
 * - `drop`: alpha is ignored, as Pillow's `convert('RGB')` does in transformers' `load_image` and
 *   in the generic `image_transforms.convert_to_rgb` that the Qwen2-VL and CLIP processors call.
 */
export type AlphaHandling = 'composite' | 'drop';

/** Pixels after Pillow's mode rules: RGB, or RGBA where the image has transparency. */
export interface ModePixels {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

/** `SHIFTFORDIV255` of Pillow's `ImagingUtils.h`: a rounding-free division by 255 for these ranges. */
function shiftForDiv255(a: number): number {
  return ((a >>> 8) + a) >>> 8;
}

let compositeTable: Uint8Array | undefined;

/**
 * `table[alpha * 256 + value]`: Pillow's `ImagingAlphaComposite` (7-bit precision coefficients)
 * of a source sample over an opaque white destination. With the destination alpha at 255 the
 * output alpha is 255 and `coef1 = alpha * 128`, `coef2 = 255 * 128 - coef1`.
 */
function whiteCompositeTable(): Uint8Array {
  if (compositeTable) return compositeTable;
  const table = new Uint8Array(256 * 256);
  for (let a = 0; a < 256; a++) {
    for (let v = 0; v < 256; v++) {
      if (a === 0) {
        table[a * 256 + v] = 255; // a fully transparent source copies the destination
        continue;
      }
      const outa255 = a * 255 + 255 * (255 - a);
      const coef1 = Math.floor((a * 255 * 255 * 128) / outa255);
      const coef2 = 255 * 128 - coef1;
      const tmp = v * coef1 + 255 * coef2;
      table[a * 256 + v] = shiftForDiv255(tmp + (0x80 << 7)) >>> 7;
    }
  }
  compositeTable = table;
  return table;
}

/** RGB from {@link ModePixels}: RGBA is composited over white or has its alpha dropped. */
export function toRgb(pixels: ModePixels, alpha: AlphaHandling): RgbImage {
  const { width, height, data, channels } = pixels;
  if (channels === 3) return { width, height, data };
  const count = width * height;
  const out = new Uint8Array(count * 3);
  if (alpha === 'drop') {
    for (let i = 0, o = 0; i < count * 4; i += 4, o += 3) {
      out[o] = data[i]!;
      out[o + 1] = data[i + 1]!;
      out[o + 2] = data[i + 2]!;
    }
    return { width, height, data: out };
  }
  const table = whiteCompositeTable();
  for (let i = 0, o = 0; i < count * 4; i += 4, o += 3) {
    const row = data[i + 3]! << 8;
    out[o] = table[row | data[i]!]!;
    out[o + 1] = table[row | data[i + 1]!]!;
    out[o + 2] = table[row | data[i + 2]!]!;
  }
  return { width, height, data: out };
}

/** Gray (one byte per pixel) replicated to RGB, as Pillow's `l2rgb`. */
export function grayToRgb(width: number, height: number, gray: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < width * height; i++, o += 3) data[o] = data[o + 1] = data[o + 2] = gray[i]!;
  return { width, height, data };
}

/**
 * CMYK (4 bytes per pixel, as Pillow holds it after reading an Adobe JPEG) to RGB with Pillow's
 * `cmyk2rgb` (src/libImaging/Convert.c, Pillow 9.4 and main alike):
 * `nk = 255 - k; channel = CLIP8(nk - MULDIV255(c, nk))`.
 */
export function cmykToRgb(width: number, height: number, cmyk: Uint8Array): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, o = 0; i < width * height * 4; i += 4, o += 3) {
    const nk = 255 - cmyk[i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i + c]! * nk + 128; // MULDIV255(a, b) = ((a * b + 128) + ((a * b + 128) >> 8)) >> 8
      const v = nk - ((t + (t >> 8)) >> 8);
      data[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, data };
}
