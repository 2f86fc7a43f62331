import { ImageError, type RgbImage } from '@icot/core';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { assertRgbImage } from './image.js';

const { PNG } = pngjs;

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** File name or path used in error messages (default `image`). */
  readonly name?: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** Formats that are recognised by their magic bytes only to name them in the error message. */
const UNSUPPORTED_FORMATS: readonly { readonly name: string; readonly test: (b: Uint8Array) => boolean }[] = [
  { name: 'GIF', test: (b) => ascii(b, 0, 4) === 'GIF8' },
  { name: 'WebP', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' },
  { name: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' },
  { name: 'TIFF', test: (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*' },
  { name: 'HEIF/AVIF', test: (b) => ascii(b, 4, 4) === 'ftyp' && /^(hei|hev|mif|msf|avi)/.test(ascii(b, 8, 4)) },
];

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= PNG_SIGNATURE.length && PNG_SIGNATURE.every((value, i) => bytes[i] === value);
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function hexPrefix(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decodes a PNG or JPEG file (detected by its magic bytes, not its name) into 8-bit RGB, converting
 * like Pillow's `Image.open(...).convert('RGB')`: gray is replicated, palettes are looked up and
 * alpha is dropped (not composited). Throws {@link ImageError} (code `image-unreadable`) naming
 * `options.name` when the data is empty, of another format, or damaged.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbImage {
  const name = options.name ?? 'image';
  if (bytes.length === 0) {
    throw new ImageError(`Cannot decode ${name}: the file is empty.`, { hint: 'Check that the file was written completely.' });
  }
  if (isPng(bytes)) return decodePng(bytes, name);
  if (isJpeg(bytes)) return decodeJpeg(bytes, name);
  const known = UNSUPPORTED_FORMATS.find((format) => format.test(bytes));
  const what = known ? `it is a ${known.name} file, which is not supported` : 'not a PNG or JPEG file';
  throw new ImageError(`Cannot decode ${name}: ${what} (starts with bytes ${hexPrefix(bytes)}).`, {
    hint: 'Convert the image to PNG or JPEG.',
  });
}

function damaged(format: string, name: string, cause: unknown): ImageError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ImageError(`Cannot decode ${name}: damaged ${format} data (${reason}).`, {
    hint: 'The file may be truncated or corrupt; re-export it as PNG or JPEG.',
    cause,
  });
}

function toBuffer(bytes: Uint8Array): Buffer {
  // pngjs works on Node Buffers; outside Node its browser build brings its own.
  const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  return NodeBuffer ? NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : (bytes as Buffer);
}

/**
 * Removes `tRNS` chunks. pngjs turns pixels that match a tRNS colour key into transparent black;
 * Pillow keeps their colour, and since alpha is dropped anyway the chunk carries nothing we need.
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

function decodePng(bytes: Uint8Array, name: string): RgbImage {
  let png;
  try {
    // skipRescale keeps raw samples, so that the depth conversion below can follow Pillow.
    png = PNG.sync.read(toBuffer(withoutTransparencyChunks(bytes)), { skipRescale: true });
  } catch (error) {
    throw damaged('PNG', name, error);
  }
  const { width, height, depth, colorType } = png;
  // pngjs always hands back 4 samples per pixel (gray replicated, palette looked up), as
  // Uint16Array for 16-bit files and raw (unscaled) values for 1/2/4-bit gray.
  const rgba = png.data as Uint8Array | Uint16Array;
  const pixels = width * height;
  const data = new Uint8Array(pixels * 3);
  let sample: ((value: number) => number) | undefined;
  if (depth === 16) {
    // Pillow reads 16-bit gray as mode I;16 whose RGB conversion clips at 255; 16-bit colour
    // and gray+alpha are read keeping the high byte.
    sample = colorType === 0 ? (v) => (v > 255 ? 255 : v) : (v) => v >> 8;
  } else if (depth < 8 && colorType === 0) {
    // 1-bit gray is mode 1 (0/255); 2- and 4-bit gray are scaled by 0x55 and 0x11.
    const factor = 255 / (2 ** depth - 1);
    sample = (v) => v * factor;
  }
  for (let i = 0, o = 0; i < pixels * 4; i += 4, o += 3) {
    if (sample) {
      data[o] = sample(rgba[i]!);
      data[o + 1] = sample(rgba[i + 1]!);
      data[o + 2] = sample(rgba[i + 2]!);
    } else {
      data[o] = rgba[i]!;
      data[o + 1] = rgba[i + 1]!;
      data[o + 2] = rgba[i + 2]!;
    }
  }
  return { width, height, data };
}

function decodeJpeg(bytes: Uint8Array, name: string): RgbImage {
  try {
    const { width, height, data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    if (!width || !height || data.length !== width * height * 3) throw new Error('no image data found');
    return { width, height, data };
  } catch (error) {
    throw damaged('JPEG', name, error);
  }
}

/** Encodes an RGB image as an 8-bit truecolour PNG (for reports and tests). */
export function encodePng(image: RgbImage): Uint8Array {
  assertRgbImage(image, 'encodePng');
  const { width, height, data } = image;
  const metadata = { width, height, data: toBuffer(data) } as unknown as InstanceType<typeof PNG>;
  const buffer = PNG.sync.write(metadata, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
