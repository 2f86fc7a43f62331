import { OptionError, type RgbImage } from '@icot/core';
import { describe, expect, it } from 'vitest';
import { centerCrop } from './index.js';

/** An image whose pixel (x, y) is [x, y, 1] (so that zeros mark padding). */
function coords(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 1], (y * width + x) * 3);
  return { width, height, data };
}

function pixels(image: RgbImage): number[][][] {
  return Array.from({ length: image.height }, (_, y) =>
    Array.from({ length: image.width }, (_, x) => Array.from(image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3))),
  );
}

describe('centerCrop', () => {
  it('crops from floor((H - h) / 2), floor((W - w) / 2)', () => {
    // 5x4 -> 3x2: left floor(2/2) = 1, top floor(2/2) = 1.
    expect(pixels(centerCrop(coords(5, 4), 3, 2))).toEqual([
      [[1, 1, 1], [2, 1, 1], [3, 1, 1]],
      [[1, 2, 1], [2, 2, 1], [3, 2, 1]],
    ]);
    // 6x5 -> 3x2: odd differences round down: left floor(3/2) = 1, top floor(3/2) = 1.
    expect(pixels(centerCrop(coords(6, 5), 3, 2))).toEqual([
      [[1, 1, 1], [2, 1, 1], [3, 1, 1]],
      [[1, 2, 1], [2, 2, 1], [3, 2, 1]],
    ]);
  });

  it('returns a copy for the same size', () => {
    const image = coords(3, 3);
    const out = centerCrop(image, 3, 3);
    expect(out).toEqual(image);
    expect(out.data).not.toBe(image.data);
  });

  it('pads with zeros when the crop is larger, the odd pixel going to the top/left', () => {
    // 2x2 -> 4x5: HF pads ceil((5-2)/2) = 2 rows on top, 1 below; 1 column each side.
    const z = [0, 0, 0];
    expect(pixels(centerCrop(coords(2, 2), 4, 5))).toEqual([
      [z, z, z, z],
      [z, z, z, z],
      [z, [0, 0, 1], [1, 0, 1], z],
      [z, [0, 1, 1], [1, 1, 1], z],
      [z, z, z, z],
    ]);
  });

  it('crops one axis and pads the other', () => {
    // 5x1 -> 2x3: left floor(3/2) = 1; one black row above and below.
    const z = [0, 0, 0];
    expect(pixels(centerCrop(coords(5, 1), 2, 3))).toEqual([
      [z, z],
      [[1, 0, 1], [2, 0, 1]],
      [z, z],
    ]);
  });

  it('rejects bad sizes', () => {
    expect(() => centerCrop(coords(3, 3), 0, 2)).toThrow(OptionError);
    expect(() => centerCrop(coords(3, 3), 2, 1.5)).toThrow(OptionError);
  });
});
