import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { IcotError, ImageError, type RgbImage } from '@icot/core';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage, encodePng, ImageTooLargeError, readImageHeader } from './index.js';
import { decodeImage as decodeImageExact, readImageFile } from './node.js';

// ---------------------------------------------------------------------------------------------
// A minimal PNG writer, so that tests can make every colour type and bit depth (pngjs cannot
// write palette or sub-byte images). Rows are given as already packed bytes, filter type 0.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

interface PngSpec {
  width: number;
  height: number;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Packed scanlines without the filter byte. */
  rows: number[][];
  palette?: [number, number, number][];
  trns?: number[];
}

function makePng(spec: PngSpec): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, spec.width);
  view.setUint32(4, spec.height);
  ihdr.set([spec.bitDepth, spec.colorType, 0, 0, 0], 8);
  const raw = Uint8Array.from(spec.rows.flatMap((row) => [0, ...row]));
  const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (spec.palette) parts.push(chunk('PLTE', Uint8Array.from(spec.palette.flat())));
  if (spec.trns) parts.push(chunk('tRNS', Uint8Array.from(spec.trns)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

function rgb(width: number, height: number, pixels: number[]): RgbImage {
  return { width, height, data: Uint8Array.from(pixels) };
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

// ---------------------------------------------------------------------------------------------

describe('decodeImage: PNG', () => {
  it('round-trips encodePng', () => {
    const width = 7;
    const height = 5;
    const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + 11) % 256);
    const png = encodePng({ width, height, data });
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const decoded = decodeImage(png);
    expect(decoded.width).toBe(width);
    expect(decoded.height).toBe(height);
    expect(decoded.data).toEqual(data);
  });

  it('composites RGBA over white by default, or drops alpha like PIL convert("RGB")', () => {
    const png = pngjs.PNG.sync.write(
      Object.assign(new pngjs.PNG({ width: 3, height: 1 }), {
        data: Buffer.from([10, 20, 30, 255, 200, 100, 50, 0, 1, 2, 3, 128]),
      }),
    );
    // (1, 2, 3, 128) over white is (128, 128, 129) in Pillow's alpha_composite.
    expect(decodeImage(png)).toEqual(rgb(3, 1, [10, 20, 30, 255, 255, 255, 128, 128, 129]));
    expect(decodeImage(png, { alpha: 'drop' })).toEqual(rgb(3, 1, [10, 20, 30, 200, 100, 50, 1, 2, 3]));
  });

  it('leaves opaque pixels unchanged when compositing (every value, every channel)', () => {
    const width = 256;
    const rgba = Buffer.alloc(width * 4);
    for (let v = 0; v < width; v++) rgba.set([v, 255 - v, (v * 7) % 256, 255], v * 4);
    const png = pngjs.PNG.sync.write(Object.assign(new pngjs.PNG({ width, height: 1 }), { data: rgba }));
    expect(decodeImage(png)).toEqual(decodeImage(png, { alpha: 'drop' }));
  });

  it('replicates 8-bit gray and gray+alpha', () => {
    const gray = makePng({ width: 3, height: 1, bitDepth: 8, colorType: 0, rows: [[0, 128, 255]] });
    expect(decodeImage(gray)).toEqual(rgb(3, 1, [0, 0, 0, 128, 128, 128, 255, 255, 255]));
    const grayAlpha = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[77, 0, 200, 255]] });
    expect(decodeImage(grayAlpha, { alpha: 'drop' })).toEqual(rgb(2, 1, [77, 77, 77, 200, 200, 200]));
    expect(decodeImage(grayAlpha)).toEqual(rgb(2, 1, [255, 255, 255, 200, 200, 200]));
  });

  it('scales 1-, 2- and 4-bit gray like Pillow (mode 1, L;2 x 0x55, L;4 x 0x11)', () => {
    // 1-bit: pixels 1,0,1 packed MSB first -> 0b1010_0000.
    const g1 = makePng({ width: 3, height: 1, bitDepth: 1, colorType: 0, rows: [[0b10100000]] });
    expect(decodeImage(g1)).toEqual(rgb(3, 1, [255, 255, 255, 0, 0, 0, 255, 255, 255]));
    // 2-bit: 0,1,2,3 -> 0, 85, 170, 255.
    const g2 = makePng({ width: 4, height: 1, bitDepth: 2, colorType: 0, rows: [[0b00011011]] });
    expect(decodeImage(g2)).toEqual(rgb(4, 1, [0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255]));
    // 4-bit: 3, 15 -> 51, 255.
    const g4 = makePng({ width: 2, height: 1, bitDepth: 4, colorType: 0, rows: [[0x3f]] });
    expect(decodeImage(g4)).toEqual(rgb(2, 1, [51, 51, 51, 255, 255, 255]));
  });

  it('keeps the high byte of 16-bit colour, clips 16-bit gray at 255 (Pillow I;16 -> RGB)', () => {
    const rgb16 = makePng({ width: 1, height: 1, bitDepth: 16, colorType: 2, rows: [[0x12, 0x34, 0xff, 0xff, 0x00, 0xff]] });
    expect(decodeImage(rgb16)).toEqual(rgb(1, 1, [0x12, 0xff, 0x00]));
    const rgba16 = makePng({ width: 1, height: 1, bitDepth: 16, colorType: 6, rows: [[0xab, 0xcd, 0x01, 0x02, 0x80, 0x00, 0x00, 0x00]] });
    expect(decodeImage(rgba16, { alpha: 'drop' })).toEqual(rgb(1, 1, [0xab, 0x01, 0x80]));
    const gray16 = makePng({ width: 3, height: 1, bitDepth: 16, colorType: 0, rows: [[0x00, 0x07, 0x00, 0xff, 0x01, 0x00]] });
    expect(decodeImage(gray16)).toEqual(rgb(3, 1, [7, 7, 7, 255, 255, 255, 255, 255, 255]));
    const grayAlpha16 = makePng({ width: 1, height: 1, bitDepth: 16, colorType: 4, rows: [[0x9a, 0xbc, 0x00, 0x00]] });
    expect(decodeImage(grayAlpha16, { alpha: 'drop' })).toEqual(rgb(1, 1, [0x9a, 0x9a, 0x9a]));
    expect(decodeImage(grayAlpha16)).toEqual(rgb(1, 1, [255, 255, 255]));
  });

  it('looks up palettes (also sub-byte indices); palette alpha is dropped on request', () => {
    const palette: [number, number, number][] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [9, 8, 7],
    ];
    // 2-bit indices 3,0,2,1 -> 0b11_00_10_01.
    const png = makePng({ width: 4, height: 1, bitDepth: 2, colorType: 3, rows: [[0b11001001]], palette, trns: [0, 128] });
    expect(decodeImage(png, { alpha: 'drop' })).toEqual(rgb(4, 1, [9, 8, 7, 255, 0, 0, 0, 0, 255, 0, 255, 0]));
    // Index 0 is fully transparent (white), index 1 half: (0, 255, 0, 128) over white is (127, 255, 127) in Pillow.
    expect(decodeImage(png)).toEqual(rgb(4, 1, [9, 8, 7, 255, 255, 255, 0, 0, 255, 127, 255, 127]));
    const png8 = makePng({ width: 2, height: 2, bitDepth: 8, colorType: 3, rows: [[1, 2], [3, 0]], palette });
    expect(decodeImage(png8)).toEqual(rgb(2, 2, [0, 255, 0, 0, 0, 255, 9, 8, 7, 255, 0, 0]));
  });

  it('applies a tRNS colour key like Pillow: gray pixels become transparent, RGB is left alone', () => {
    const png = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 2, rows: [[10, 20, 30, 40, 50, 60]], trns: [0, 10, 0, 20, 0, 30] });
    expect(decodeImage(png)).toEqual(rgb(2, 1, [10, 20, 30, 40, 50, 60]));
    const gray = makePng({ width: 2, height: 1, bitDepth: 8, colorType: 0, rows: [[5, 6]], trns: [0, 5] });
    expect(decodeImage(gray, { alpha: 'drop' })).toEqual(rgb(2, 1, [5, 5, 5, 6, 6, 6]));
    expect(decodeImage(gray)).toEqual(rgb(2, 1, [255, 255, 255, 6, 6, 6]));
  });
});

describe('decodeImage: compressed text chunks', () => {
  it("reads an EXIF orientation kept in a zTXt chunk only through options.inflate (the Node entry's is built in)", async () => {
    const golden = (path: string) => new Uint8Array(readFileSync(new URL(`../test/goldens/${path}`, import.meta.url)));
    const bytes = golden('inputs/png-raw-profile-6.png');
    const expected = await decodeImageExact(golden('expected/png-raw-profile-6.png'));
    const withInflater = decodeImage(bytes, { inflate: (data) => new Uint8Array(inflateSync(data)) });
    expect([withInflater.width, withInflater.height]).toEqual([expected.width, expected.height]);
    expect(Buffer.from(withInflater.data).equals(Buffer.from(expected.data))).toBe(true);
    expect(await decodeImageExact(bytes)).toEqual(withInflater);
    const without = decodeImage(bytes); // the chunk is skipped: not rotated
    expect([without.width, without.height]).toEqual([expected.height, expected.width]);
  });
});

describe('decodeImage: JPEG', () => {
  it('decodes a baseline JPEG made by jpeg-js', () => {
    const width = 16;
    const height = 8;
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        rgba.set([x * 16, y * 32, 128, 255], (y * width + x) * 4);
      }
    }
    const encoded = jpeg.encode({ width, height, data: rgba }, 100);
    const image = decodeImage(new Uint8Array(encoded.data));
    expect(image.width).toBe(width);
    expect(image.height).toBe(height);
    expect(image.data.length).toBe(width * height * 3);
    // Lossy: a smooth gradient at quality 100 comes back within a few levels.
    let worst = 0;
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(image.data[i * 3 + c]! - rgba[i * 4 + c]!));
    }
    expect(worst).toBeLessThanOrEqual(6);
  });
});

describe('decodeImage: errors', () => {
  it('names another format and its first bytes', () => {
    const gif = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0]);
    const error = catchError(() => decodeImage(gif, { name: 'cat.gif' }));
    expect(error).toBeInstanceOf(ImageError);
    expect(IcotError.is(error)).toBe(true);
    const { code, message, hint } = error as ImageError;
    expect(code).toBe('image-unreadable');
    expect(message).toContain('cat.gif');
    expect(message).toContain('GIF');
    expect(message).toContain('starts with bytes 47 49 46 38');
    expect(hint).toBe('Convert the image to PNG or JPEG.');
  });

  it('rejects unknown bytes and empty files', () => {
    const error = catchError(() => decodeImage(Uint8Array.from([1, 2, 3, 4, 5]), { name: 'x.bin' })) as ImageError;
    expect(error.code).toBe('image-unreadable');
    expect(error.message).toBe('Cannot decode x.bin: not a PNG or JPEG file (starts with bytes 01 02 03 04).');
    const empty = catchError(() => decodeImage(new Uint8Array(0), { name: 'empty.png' })) as ImageError;
    expect(empty).toBeInstanceOf(ImageError);
    expect(empty.message).toContain('empty.png');
    expect(empty.message).toContain('empty');
  });

  it('rejects damaged PNG data', () => {
    const png = encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(90) });
    const truncated = png.subarray(0, png.length - 30);
    const error = catchError(() => decodeImage(truncated, { name: 'broken.png' })) as ImageError;
    expect(error).toBeInstanceOf(ImageError);
    expect(error.code).toBe('image-unreadable');
    expect(error.message).toContain('broken.png');
    expect(error.message).toContain('PNG');
    expect(error.hint).toBeTruthy();
    expect(error.cause).toBeInstanceOf(Error);

    const garbage = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3, 4, 5]);
    expect(catchError(() => decodeImage(garbage))).toBeInstanceOf(ImageError);

    const badCrc = png.slice();
    badCrc[20] = badCrc[20]! ^ 0xff; // inside IHDR
    expect(catchError(() => decodeImage(badCrc))).toBeInstanceOf(ImageError);
  });

  it('rejects damaged JPEG data', () => {
    const bytes = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 3, 0xff, 0xd9]);
    const error = catchError(() => decodeImage(bytes, { name: 'photo.jpg' })) as ImageError;
    expect(error).toBeInstanceOf(ImageError);
    expect(error.code).toBe('image-unreadable');
    expect(error.message).toContain('photo.jpg');
    expect(error.message).toContain('JPEG');
  });
});

describe('readImageFile', () => {
  it('reads and decodes a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'icot-image-'));
    try {
      const image = rgb(2, 1, [1, 2, 3, 4, 5, 6]);
      const path = join(dir, 'a.png');
      await writeFile(path, encodePng(image));
      expect(await readImageFile(path)).toEqual(image);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the path and the reason of a missing file', async () => {
    const path = join(tmpdir(), 'icot-definitely-missing', 'nope.png');
    const error = await readImageFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('image-unreadable');
    expect((error as ImageError).message).toContain(path);
    expect((error as ImageError).message).toContain('no such file');
  });

  it('names the path of undecodable file contents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'icot-image-'));
    try {
      const path = join(dir, 'fake.png');
      await writeFile(path, 'not an image');
      await expect(readImageFile(path)).rejects.toThrow(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('decompression-bomb guard', () => {
  /** A PNG whose IHDR declares `width` x `height` but whose data is tiny (it would fail later). */
  const hugePng = (width: number, height: number) => {
    const png = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [[7]] });
    const view = new DataView(png.buffer);
    view.setUint32(16, width);
    view.setUint32(20, height);
    view.setUint32(29, crc32(png.subarray(12, 29))); // IHDR's CRC
    return png;
  };
  /** A JPEG header (SOI + SOF0) that declares `width` x `height`. */
  const hugeJpeg = (width: number, height: number) =>
    Uint8Array.from([0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);

  it('reads the size from the PNG IHDR and the JPEG SOF without decoding', () => {
    expect(readImageHeader(hugePng(40000, 30000))).toEqual({ format: 'png', width: 40000, height: 30000 });
    expect(readImageHeader(hugeJpeg(65000, 2))).toEqual({ format: 'jpeg', width: 65000, height: 2 });
  });

  it("refuses more than Pillow's MAX_IMAGE_PIXELS before decoding, naming the size, the limit and the fix", async () => {
    expect(DEFAULT_MAX_IMAGE_PIXELS).toBe(Math.floor((1024 * 1024 * 1024) / 4 / 3));
    for (const [bytes, decode] of [
      [hugePng(20000, 5000), (b: Uint8Array) => decodeImage(b, { name: 'bomb.png' })],
      [hugeJpeg(60000, 2000), (b: Uint8Array) => decodeImage(b, { name: 'bomb.png' })],
      [hugePng(20000, 5000), (b: Uint8Array) => decodeImageExact(b, { name: 'bomb.png' })],
      [hugeJpeg(60000, 2000), (b: Uint8Array) => decodeImageExact(b, { name: 'bomb.png' })],
    ] as const) {
      const error = await Promise.resolve()
        .then(() => decode(bytes))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ImageTooLargeError);
      expect(error).toBeInstanceOf(ImageError);
      const { message, hint, code, limit, pixels } = error as ImageTooLargeError;
      expect(code).toBe('image-unreadable');
      expect(limit).toBe(DEFAULT_MAX_IMAGE_PIXELS);
      expect(pixels).toBeGreaterThan(DEFAULT_MAX_IMAGE_PIXELS);
      expect(message).toContain('bomb.png');
      expect(message).toContain('89,478,485');
      expect(hint).toContain('--max-image-pixels');
      expect(hint).toContain('maxPixels');
    }
  });

  it('applies a raised or lowered limit (Infinity: none)', () => {
    const png = makePng({ width: 4, height: 3, bitDepth: 8, colorType: 0, rows: [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]] });
    expect(catchError(() => decodeImage(png, { maxPixels: 11 }))).toBeInstanceOf(ImageTooLargeError);
    expect(decodeImage(png, { maxPixels: 12 }).width).toBe(4);
    expect(decodeImage(png, { maxPixels: Infinity }).width).toBe(4);
  });

  it('rejects a maxPixels that is not a positive integer', () => {
    const png = makePng({ width: 1, height: 1, bitDepth: 8, colorType: 0, rows: [[1]] });
    for (const maxPixels of [0, -5, 1.5, Number.NaN]) expect(catchError(() => decodeImage(png, { maxPixels }))).toMatchObject({ code: 'invalid-option' });
  });
});

describe('EXIF orientation', () => {
  it('is applied unless switched off; sharp does not rotate on its own', async () => {
    const exif = Uint8Array.from([
      ...[0x45, 0x78, 0x69, 0x66, 0, 0], // Exif\0\0
      ...[0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8], // big-endian TIFF, IFD0 at 8
      ...[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0], // one entry: Orientation SHORT 6
      ...[0, 0, 0, 0],
    ]);
    const width = 16;
    const height = 8;
    const rgba = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 29) % 256));
    const plain = new Uint8Array(jpeg.encode({ width, height, data: rgba }, 95).data);
    const bytes = Uint8Array.from([...plain.subarray(0, 2), 0xff, 0xe1, 0, exif.length + 2, ...exif, ...plain.subarray(2)]);
    const stored = await decodeImageExact(bytes, { applyExifOrientation: false });
    expect([stored.width, stored.height]).toEqual([16, 8]);
    const upright = await decodeImageExact(bytes);
    expect([upright.width, upright.height]).toEqual([8, 16]);
    // Rotated 90 degrees clockwise: the output's top-left pixel is the stored bottom-left one.
    expect(Array.from(upright.data.subarray(0, 3))).toEqual(Array.from(stored.data.subarray((7 * 16) * 3, (7 * 16) * 3 + 3)));
    expect([decodeImage(bytes).width, decodeImage(bytes).height]).toEqual([8, 16]);
  });
});
