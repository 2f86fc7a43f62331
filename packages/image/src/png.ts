// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- pngjs's types, declared here (see pngjs.d.ts)
/// <reference path="./pngjs.d.ts" />
import { Buffer as PolyfillBuffer } from 'buffer/index.js'; // the npm package, not Node's built-in module
import pngjs from 'pngjs';
import { ascii, damaged, PNG_SIGNATURE, type PngInfo } from './container.js';
import type { ModePixels } from './convert.js';

const { PNG } = pngjs;

/**
 * Node's `Buffer`, or outside Node the `buffer` package's (the one pngjs's browser build bundles):
 * pngjs reads its input with Buffer methods (`readUInt32BE` ...), which a plain Uint8Array lacks.
 */
const BufferClass: { from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array } =
  (globalThis as { Buffer?: { from(buffer: ArrayBufferLike, offset: number, length: number): Uint8Array } }).Buffer ?? PolyfillBuffer;

/** `bytes` as a Buffer (a view, no copy), as pngjs needs its input (in Node and in browsers). */
export function toBuffer(bytes: Uint8Array): Uint8Array {
  return BufferClass.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Removes `tRNS` chunks. pngjs turns pixels that match a tRNS colour key into transparent black;
 * the key is applied here instead, with Pillow's rules.
 */
function withoutTransparencyChunks(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, PNG_SIGNATURE.length)];
  let offset: number = PNG_SIGNATURE.length;
  let removed = false;
  while (offset + 8 <= bytes.length) {
    const length = ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
    const end = Math.min(offset + 12 + length, bytes.length);
    if (ascii(bytes, offset + 4, 4) === 'tRNS') removed = true;
    else parts.push(bytes.subarray(offset, end));
    offset = end;
  }
  if (!removed) return bytes;
  if (offset < bytes.length) parts.push(bytes.subarray(offset));
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Decodes a PNG to the pixels Pillow holds after `Image.open` and `convert('RGBA')` where the image
 * has transparency (else `convert('RGB')`), following PngImagePlugin's modes and rawmodes:
 * 1-bit gray is mode 1 (0/255), 2/4-bit gray are scaled by 0x55/0x11, 16-bit gray is I;16 whose
 * RGB conversion clips at 255 (`I16_RGB`), 16-bit colour, gray+alpha and alpha keep the high byte
 * (RGB;16B, LA;16B, RGBA;16B), palettes are looked up with their tRNS alpha. A tRNS colour key on
 * gray makes transparent the pixels whose 8-bit value equals the key's low byte (Pillow's
 * `convert_transparent`); on RGB it is ignored, since an RGB image is not converted.
 */
export function decodePngPixels(bytes: Uint8Array, info: PngInfo, name: string): ModePixels {
  const { colorType, bitDepth } = info;
  const keepTransparency = colorType === 3; // palette alpha comes from pngjs
  let png;
  try {
    // skipRescale keeps raw samples, so that the depth conversion below can follow Pillow.
    png = PNG.sync.read(toBuffer(keepTransparency ? bytes : withoutTransparencyChunks(bytes)), { skipRescale: true });
  } catch (error) {
    throw damaged('PNG', name, error);
  }
  const { width, height } = png;
  // pngjs hands back 4 samples per pixel (gray replicated, palette looked up with tRNS alpha), as
  // Uint16Array for 16-bit files and raw (unscaled) values for 1/2/4-bit gray.
  const rgba = png.data;
  const count = width * height;
  const gray = colorType === 0;
  const hasAlpha = colorType === 4 || colorType === 6 || (colorType === 3 && info.transparency !== undefined);
  const key = gray && info.transparency && info.transparency.length >= 2 ? transparencyKey(info.transparency, bitDepth) : undefined;
  const channels = hasAlpha || key !== undefined ? 4 : 3;
  let sample: (value: number) => number = (v) => v;
  if (bitDepth === 16) sample = gray ? (v) => (v > 255 ? 255 : v) : (v) => v >> 8;
  else if (bitDepth < 8 && gray) {
    const factor = 255 / (2 ** bitDepth - 1); // 1-bit: 255 (mode 1), 2-bit: 0x55, 4-bit: 0x11
    sample = (v) => v * factor;
  }
  const data = new Uint8Array(count * channels);
  for (let i = 0, o = 0; i < count * 4; i += 4, o += channels) {
    const r = sample(rgba[i]!);
    data[o] = r;
    data[o + 1] = sample(rgba[i + 1]!);
    data[o + 2] = sample(rgba[i + 2]!);
    if (channels === 4) {
      if (key !== undefined) data[o + 3] = r === key ? 0 : 255;
      else data[o + 3] = bitDepth === 16 ? rgba[i + 3]! >> 8 : rgba[i + 3]!;
    }
  }
  return { width, height, channels, data };
}

/**
 * The 8-bit value that a gray tRNS key makes transparent in Pillow: `convert_transparent` compares
 * each converted pixel with the key's low byte; for 1-bit gray Pillow stores the key as 255 or 0.
 */
function transparencyKey(trns: Uint8Array, bitDepth: number): number {
  const value = (trns[0]! << 8) | trns[1]!;
  if (bitDepth === 1) return value ? 255 : 0;
  return value & 0xff;
}
