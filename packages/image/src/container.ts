import { ImageError } from '@icot/core';

/**
 * What the file's container says before any pixel is decoded: format, size and the metadata that
 * decides how Pillow converts it (PNG colour type and tRNS, JPEG components and Adobe marker, the
 * EXIF/XMP that `ImageOps.exif_transpose` reads).
 */
export interface ImageHeader {
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
}

/** PNG container facts (IHDR, tRNS and orientation metadata). */
export interface PngInfo extends ImageHeader {
  readonly format: 'png';
  readonly bitDepth: number;
  readonly colorType: number;
  /** tRNS payload, if any. */
  readonly transparency: Uint8Array | undefined;
  /** eXIf payloads (TIFF data) before and after the first IDAT (Pillow reads the earlier one first). */
  readonly exifBeforeData: Uint8Array | undefined;
  readonly exifAfterData: Uint8Array | undefined;
  /** Text chunks by keyword (tEXt, iTXt, and zTXt / compressed iTXt where an inflater is given). */
  readonly text: ReadonlyMap<string, string>;
}

/** JPEG container facts (SOF and APP markers up to the first scan). */
export interface JpegInfo extends ImageHeader {
  readonly format: 'jpeg';
  readonly components: number;
  readonly precision: number;
  readonly progressive: boolean;
  /** APP14 "Adobe" marker present (libjpeg then treats 4-component data as inverted CMYK). */
  readonly adobe: boolean;
  /** The first APP1 Exif payload, from its "Exif\0" prefix on. */
  readonly exif: Uint8Array | undefined;
  /** The last APP1 XMP packet, as Latin-1 text. */
  readonly xmp: string | undefined;
}

/** A synchronous zlib inflater (Node's `zlib.inflateSync`), for compressed PNG text chunks. */
export type Inflate = (data: Uint8Array) => Uint8Array;

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** Formats that are recognised by their magic bytes only to name them in the error message. */
const UNSUPPORTED_FORMATS: readonly { readonly name: string; readonly test: (b: Uint8Array) => boolean }[] = [
  { name: 'GIF', test: (b) => ascii(b, 0, 4) === 'GIF8' },
  { name: 'WebP', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' },
  { name: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' },
  { name: 'TIFF', test: (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*' },
  { name: 'HEIF/AVIF', test: (b) => ascii(b, 4, 4) === 'ftyp' && /^(hei|hev|mif|msf|avi)/.test(ascii(b, 8, 4)) },
];

export function ascii(bytes: Uint8Array, start: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(start, start + length));
}

function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
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

/** The error for a file whose container cannot be read. */
export function damaged(format: string, name: string, cause: unknown): ImageError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ImageError(`Cannot decode ${name}: damaged ${format} data (${reason}).`, {
    hint: 'The file may be truncated or corrupt; re-export it as PNG or JPEG.',
    cause,
  });
}

/**
 * Reads the container of a PNG or JPEG file (recognised by its magic bytes, not its name) without
 * decoding pixels. Throws {@link ImageError} for empty data, other formats and damaged headers.
 */
export function readContainer(bytes: Uint8Array, name: string, inflate?: Inflate): PngInfo | JpegInfo {
  if (bytes.length === 0) {
    throw new ImageError(`Cannot decode ${name}: the file is empty.`, { hint: 'Check that the file was written completely.' });
  }
  if (isPng(bytes)) return readPng(bytes, name, inflate);
  if (isJpeg(bytes)) return readJpeg(bytes, name);
  const known = UNSUPPORTED_FORMATS.find((format) => format.test(bytes));
  const what = known ? `it is a ${known.name} file, which is not supported` : 'not a PNG or JPEG file';
  throw new ImageError(`Cannot decode ${name}: ${what} (starts with bytes ${hexPrefix(bytes)}).`, {
    hint: 'Convert the image to PNG or JPEG.',
  });
}

/**
 * Reads width and height (and the format) from the PNG IHDR or JPEG SOF header, without decoding.
 * Throws {@link ImageError} as {@link decodeImage} does for unreadable data.
 */
export function readImageHeader(bytes: Uint8Array, options: { readonly name?: string } = {}): ImageHeader {
  const { format, width, height } = readContainer(bytes, options.name ?? 'image');
  return { format, width, height };
}

function readPng(bytes: Uint8Array, name: string, inflate: Inflate | undefined): PngInfo {
  let offset: number = PNG_SIGNATURE.length;
  let ihdr: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  let exifBeforeData: Uint8Array | undefined;
  let exifAfterData: Uint8Array | undefined;
  let seenData = false;
  const text = new Map<string, string>();
  while (offset + 8 <= bytes.length) {
    const length = u32(bytes, offset);
    const type = ascii(bytes, offset + 4, 4);
    const end = offset + 12 + length;
    if (end > bytes.length) break; // truncated: pngjs reports it when decoding
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') ihdr = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') seenData = true;
    else if (type === 'eXIf') {
      if (seenData) exifAfterData = data;
      else exifBeforeData = data;
    } else if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') readTextChunk(type, data, text, inflate);
    else if (type === 'IEND') break;
    offset = end;
  }
  if (!ihdr || ihdr.length < 13) throw damaged('PNG', name, new Error('no IHDR chunk'));
  return {
    format: 'png',
    width: u32(ihdr, 0),
    height: u32(ihdr, 4),
    bitDepth: ihdr[8]!,
    colorType: ihdr[9]!,
    transparency,
    exifBeforeData,
    exifAfterData,
    text,
  };
}

function readTextChunk(type: string, data: Uint8Array, text: Map<string, string>, inflate: Inflate | undefined): void {
  const zero = data.indexOf(0);
  if (zero <= 0) return;
  const key = latin1(data.subarray(0, zero));
  try {
    if (type === 'tEXt') text.set(key, latin1(data.subarray(zero + 1)));
    else if (type === 'zTXt') {
      if (inflate) text.set(key, latin1(inflate(data.subarray(zero + 2))));
    } else {
      // iTXt: keyword \0 compression flag, method, language \0 translated keyword \0 text (UTF-8).
      const compressed = data[zero + 1] === 1;
      const language = data.indexOf(0, zero + 3);
      const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
      if (translated < 0) return;
      const body = data.subarray(translated + 1);
      if (!compressed) text.set(key, utf8(body));
      else if (inflate) text.set(key, utf8(inflate(body)));
    }
  } catch {
    // A damaged text chunk carries no pixels; Pillow skips what it cannot decode too.
  }
}

const XMP_PREFIX = 'http://ns.adobe.com/xap/1.0/\0';

function readJpeg(bytes: Uint8Array, name: string): JpegInfo {
  let offset = 2;
  let exif: Uint8Array | undefined;
  let xmp: string | undefined;
  let adobe = false;
  let frame: { width: number; height: number; components: number; precision: number; progressive: boolean } | undefined;
  while (offset < bytes.length) {
    if (bytes[offset] !== 0xff) {
      offset += 1; // junk between segments; libjpeg skips it with a warning
      continue;
    }
    while (bytes[offset] === 0xff) offset += 1; // fill bytes
    const marker = bytes[offset];
    offset += 1;
    if (marker === undefined) break;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or the first scan: headers are done
    if (offset + 2 > bytes.length) break;
    const length = u16(bytes, offset);
    if (length < 2) break;
    const data = bytes.subarray(offset + 2, Math.min(offset + length, bytes.length));
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && !frame && data.length >= 6) {
      frame = {
        precision: data[0]!,
        height: u16(data, 1),
        width: u16(data, 3),
        components: data[5]!,
        progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce,
      };
    } else if (marker === 0xe1) {
      if (!exif && ascii(data, 0, 5) === 'Exif\0') exif = data;
      else if (ascii(data, 0, XMP_PREFIX.length) === XMP_PREFIX) xmp = latin1(data.subarray(XMP_PREFIX.length));
    } else if (marker === 0xee && ascii(data, 0, 5) === 'Adobe') adobe = true;
    offset += length;
  }
  if (!frame) throw damaged('JPEG', name, new Error('no frame header (SOF) before the image data'));
  if (frame.width === 0 || frame.height === 0) throw damaged('JPEG', name, new Error(`frame header says ${frame.width}x${frame.height}`));
  return { format: 'jpeg', ...frame, adobe, exif, xmp };
}
