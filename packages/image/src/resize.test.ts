import { OptionError, type RgbImage } from '@icot/core';
import { describe, expect, it } from 'vitest';
import { resizeImage, type ResampleFilter } from './index.js';

const FILTERS: readonly ResampleFilter[] = ['nearest', 'bilinear', 'bicubic', 'lanczos'];

/** A one-row image whose red channel is `values`, green is `values` reversed and blue is 50. */
function row(values: readonly number[]): RgbImage {
  const n = values.length;
  const data = new Uint8Array(n * 3);
  values.forEach((v, i) => data.set([v, values[n - 1 - i]!, 50], i * 3));
  return { width: n, height: 1, data };
}

/** The same as `row` but as one column. */
function column(values: readonly number[]): RgbImage {
  const image = row(values);
  return { width: 1, height: values.length, data: image.data };
}

function channel(image: RgbImage, c: number): number[] {
  return Array.from({ length: image.width * image.height }, (_, i) => image.data[i * 3 + c]!);
}

/** Checks red = expected, green = expected reversed (the mirrored input) and blue = 50. */
function expectRow(image: RgbImage, expected: readonly number[]): void {
  expect(channel(image, 0)).toEqual(expected);
  expect(channel(image, 1)).toEqual([...expected].reverse());
  expect(channel(image, 2)).toEqual(expected.map(() => 50));
}

function pattern(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

function mirror(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(image.data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3), (y * width + (width - 1 - x)) * 3);
    }
  }
  return { width, height, data };
}

function transpose(image: RgbImage): RgbImage {
  const { width, height } = image;
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(image.data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3), (x * height + y) * 3);
    }
  }
  return { width: height, height: width, data };
}

describe('resizeImage: basics', () => {
  it('returns an equal copy for the same size', () => {
    const image = pattern(5, 4);
    for (const filter of FILTERS) {
      const out = resizeImage(image, 5, 4, filter);
      expect(out).toEqual(image);
      expect(out.data).not.toBe(image.data);
    }
  });

  it('keeps a constant image constant for every filter and size', () => {
    const image: RgbImage = { width: 9, height: 7, data: new Uint8Array(9 * 7 * 3).fill(0) };
    for (let i = 0; i < 9 * 7; i++) image.data.set([0, 173, 255], i * 3);
    const sizes: [number, number][] = [[1, 1], [3, 2], [4, 7], [9, 3], [13, 11], [30, 2], [2, 29]];
    for (const filter of FILTERS) {
      for (const [w, h] of sizes) {
        const out = resizeImage(image, w, h, filter);
        expect([out.width, out.height]).toEqual([w, h]);
        for (let i = 0; i < w * h; i++) expect(Array.from(out.data.subarray(i * 3, i * 3 + 3))).toEqual([0, 173, 255]);
      }
    }
  });

  it('commutes with mirroring', () => {
    const image = pattern(11, 6, 7);
    for (const filter of FILTERS.filter((f) => f !== 'nearest')) {
      for (const [w, h] of [[5, 3], [17, 9], [4, 13], [11, 2]] as const) {
        expect(resizeImage(mirror(image), w, h, filter)).toEqual(mirror(resizeImage(image, w, h, filter)));
      }
    }
  });

  it('treats rows and columns alike when only one axis changes', () => {
    // With both axes changing the passes do not commute (the intermediate is rounded to 8 bits).
    const image = pattern(11, 6, 3);
    for (const filter of FILTERS) {
      for (const w of [1, 4, 7, 19, 40]) {
        expect(resizeImage(transpose(image), 6, w, filter)).toEqual(transpose(resizeImage(image, w, 6, filter)));
      }
    }
  });

  it('defaults to bicubic', () => {
    const image = pattern(6, 5);
    expect(resizeImage(image, 4, 3)).toEqual(resizeImage(image, 4, 3, 'bicubic'));
  });

  it('rejects bad sizes and images', () => {
    const image = pattern(3, 3);
    expect(() => resizeImage(image, 0, 3)).toThrow(OptionError);
    expect(() => resizeImage(image, 2.5, 3)).toThrow(OptionError);
    expect(() => resizeImage({ width: 3, height: 3, data: new Uint8Array(5) }, 2, 2)).toThrow(OptionError);
    expect(() => resizeImage(image, 2, 2, 'box' as ResampleFilter)).toThrow(OptionError);
  });
});

/*
 * Hand derivations of Pillow's ImagingResample for the row [0, 100, 200, 255] (red channel; the
 * green channel holds the mirrored row, blue is 50 and must stay 50).
 *
 * Per output pixel xx (Resample.c precompute_coeffs):
 *   scale = in/out, filterscale = max(scale, 1), support = kernel_support * filterscale
 *   center = (xx + 0.5) * scale
 *   xmin = max((int)(center - support + 0.5), 0), xmax = min((int)(center + support + 0.5), in)
 *   w[x] = K((xmin + x - center + 0.5) / filterscale), x in [0, xmax - xmin), normalised to sum 1
 *   fixed = (int)(w * 2^22 ± 0.5)  (2^22 = 4194304, rounding half away from zero)
 *   out = clip(((1 << 21) + sum(pixel * fixed)) >> 22)
 * Bicubic K (a = -0.5): |x| < 1: (1.5|x| - 2.5)x^2 + 1; 1 <= |x| < 2: (((|x|-5)|x|+8)|x|-4)(-0.5).
 * Bilinear K: 1 - |x| for |x| < 1.
 */
describe('resizeImage: matches hand-computed Pillow results', () => {
  const input = [0, 100, 200, 255];

  it('bilinear 4 -> 2', () => {
    // scale 2, support 2.
    // xx=0: center 1, taps 0..2 at (x-0.5)/2 = -0.25, 0.25, 0.75 -> 0.75, 0.75, 0.25 (sum 1.75)
    //   -> 3/7, 3/7, 1/7 -> fixed 1797559, 1797559, 599186
    //   2097152 + 100*1797559 + 200*599186 = 301690252 >> 22 = 71   (float 500/7 = 71.43)
    // xx=1: center 3, taps 1..3 -> 1/7, 3/7, 3/7
    //   2097152 + 100*599186 + 200*1797559 + 255*1797559 = 879905097 >> 22 = 209   (float 209.29)
    expectRow(resizeImage(row(input), 2, 1, 'bilinear'), [71, 209]);
  });

  it('bicubic 4 -> 2', () => {
    // scale 2, support 4.
    // xx=0: center 1, taps 0..3 at -0.25, 0.25, 0.75, 1.25
    //   K = 0.8671875, 0.8671875, 0.2265625, -0.0703125 (= 111, 111, 29, -9 /128; sum 242/128)
    //   -> 111/242, 111/242, 29/242, -9/242 -> fixed 1923834, 1923834, 502623, -155987
    //   2097152 + 100*1923834 + 200*502623 - 255*155987 = 255228467 >> 22 = 60   (float 60.35)
    // xx=1: center 3, taps 0..3 at -1.25, -0.75, -0.25, 0.25 -> -9, 29, 111, 111 /242
    //   2097152 + 100*502623 + 200*1923834 + 255*1923834 = 927703922 >> 22 = 221   (float 220.68)
    expectRow(resizeImage(row(input), 2, 1, 'bicubic'), [60, 221]);
  });

  it('bilinear 4 -> 3 (fixed-point rounding decides the last pixel)', () => {
    // scale = filterscale = support = 4/3, taps at (x + xmin - center + 0.5) * 0.75.
    // xx=0: center 2/3, xmin 0, xmax (int)2.5 = 2: args -0.125, 0.625 -> 0.875, 0.375 -> 0.7, 0.3
    //   fixed 2936013, 1258291: 2097152 + 100*1258291 = 127926252 >> 22 = 30
    // xx=1: center 2, taps 1,2 at -0.375, 0.375 -> 0.5, 0.5 -> 2097152 each
    //   2097152 * (1 + 100 + 200) >> 22 = 150 (150.5 floored)
    // xx=2: center 10/3, taps 2,3 at -0.625, 0.125 -> 0.375, 0.875 -> 0.3, 0.7 -> 1258291, 2936013
    //   2097152 + 200*1258291 + 255*2936013 = 1002438667 >> 22 = 239
    //   (in floating point 0.3*200 + 0.7*255 = 238.5 exactly; the rounded weights tip it to 239)
    expectRow(resizeImage(row(input), 3, 1, 'bilinear'), [30, 150, 239]);
  });

  it('bicubic 4 -> 3', () => {
    // scale 4/3, support 8/3, args scaled by 0.75.
    // xx=0: center 2/3, xmin (int)-1.5 -> 0, xmax (int)3.83 = 3: args -0.125, 0.625, 1.375
    //   K = 987, 399, -75 /1024 (sum 1311) -> fixed 3157725, 1276527, -239949
    //   2097152 + 100*1276527 - 200*239949 = 81760052 >> 22 = 19   (float 18.99)
    // xx=1: center 2, taps 0..3 at -1.125, -0.375, 0.375, 1.125 -> -49, 745, 745, -49 /1392
    //   fixed -147644, 2244796, 2244796, -147644
    //   2097152 + 300*2244796 - 255*147644 = 637886732 >> 22 = 152   (float 151.58)
    // xx=2: center 10/3, taps 1..3 at -1.375, -0.625, 0.125 -> -75, 399, 987 /1311
    //   2097152 - 100*239949 + 200*1276527 + 255*3157725 = 1038627527 >> 22 = 247   (float 247.13)
    expectRow(resizeImage(row(input), 3, 1, 'bicubic'), [19, 152, 247]);
  });

  it('bilinear 4 -> 7 (upscale: support stays 1)', () => {
    // scale 4/7, centers (2xx+1)*2/7.
    // xx=0: center 2/7, xmax (int)1.79 = 1 -> only pixel 0 -> 0
    // xx=1: center 6/7, taps 0,1 at -5/14, 9/14 -> 9/14, 5/14 -> 2696338, 1497966 -> 36
    // xx=2: center 10/7, taps 0,1 at -13/14, 1/14 -> 1/14, 13/14 -> 299593, 3894711 -> 93
    // xx=3: center 2, taps 1,2 at -0.5, 0.5 -> 0.5, 0.5 -> 150 (150.5 floored)
    // xx=4: center 18/7, taps 2,3 -> 13/14, 1/14: 2097152 + 200*3894711 + 255*299593 = 857435567 -> 204
    // xx=5: center 22/7, taps 2,3 -> 5/14, 9/14: 989256542 >> 22 = 235
    // xx=6: center 26/7, xmin (int)3.21 = 3, xmax 4 -> only pixel 3 -> 255
    expectRow(resizeImage(row(input), 7, 1, 'bilinear'), [0, 36, 93, 150, 204, 235, 255]);
  });

  it('bicubic 4 -> 7 (overshoot is clipped)', () => {
    // support 2; K at multiples of 1/14, all weights as n/5488 before normalising.
    // xx=0: taps 0,1 at 3/14, 17/14 -> 4939, -363 (sum 4576) -> 4527025, -332721
    //   2097152 - 100*332721 = -31174948 >> 22 = -8 -> 0
    // xx=1: taps 0..2 at -5/14, 9/14, 23/14 -> 4113, 2005, -225 (sum 5893) -> 2927401, 1427046, -160142
    //   2097152 + 100*1427046 - 200*160142 = 112773352 >> 22 = 26
    // xx=2: taps 0..2 at -13/14, 1/14, 15/14 -> 249, 5421, -169 (sum 5501) -> 189853, 4133307, -128856
    //   2097152 + 100*4133307 - 200*128856 = 389656652 >> 22 = 92
    // xx=3: center 2 (3.5*4/7 rounds to 2.0), taps 0..3 at -1.5, -0.5, 0.5, 1.5
    //   -> -0.0625, 0.5625, 0.5625, -0.0625 -> -262144, 2359296, 2359296, -262144
    //   2097152 + 300*2359296 - 255*262144 = 643039232 >> 22 = 153
    // xx=4: mirror of xx=2 over taps 1..3: 2097152 - 100*128856 + 200*4133307 + 255*189853 = 864285467 -> 206
    // xx=5: mirror of xx=1 over taps 1..3: 2097152 - 100*160142 + 200*1427046 + 255*2927401 = 1017979407 -> 242
    // xx=6: mirror of xx=0 over taps 2,3: 2097152 - 200*332721 + 255*4527025 = 1089944327 -> 259 -> 255
    expectRow(resizeImage(row(input), 7, 1, 'bicubic'), [0, 26, 92, 153, 206, 242, 255]);
  });

  it('lanczos 4 -> 2', () => {
    // Lanczos-3: K(x) = sinc(x) sinc(x/3), support 3 * 2 = 6; xx=0: center 1, taps 0..3 at
    // -0.25, 0.25, 0.75, 1.25: K = 0.890067, 0.890067, 0.270190, -0.132872 (sum 1.917452)
    //   -> 0.464193, 0.464193, 0.140911, -0.069296 -> fixed 1946964, 1946964, 591023, -290647
    //   2097152 + 100*1946964 + 200*591023 - 255*290647 = 240883167 >> 22 = 57   (float 56.93)
    // xx=1 mirrored: 2097152 - 0 + 100*591023 + 455*1946964 = 947068072 >> 22 = 225   (float 225.30)
    expectRow(resizeImage(row(input), 2, 1, 'lanczos'), [57, 225]);
  });

  it('nearest follows Pillow: half-step start, positions accumulated by addition, truncated', () => {
    // 4 -> 7: step 4/7; positions 2/7, +4/7, ... as doubles: 0.2857, 0.857, 1.4286, 1.9999999999999998,
    // 2.571, 3.1429, 3.714 -> 0, 0, 1, 1, 2, 3, 3. (Computing (x + 0.5) * 4/7 directly would give 2
    // for x = 3; Pillow's ImagingScaleAffine adds the step, so it picks 1.)
    const picked = (out: RgbImage) => [channel(out, 0), channel(out, 1)];
    // Red holds [0, 100, 200, 255], green the reverse [255, 200, 100, 0].
    expect(picked(resizeImage(row(input), 7, 1, 'nearest'))).toEqual([
      [0, 0, 100, 100, 200, 255, 255],
      [255, 255, 200, 200, 100, 0, 0],
    ]);
    // 4 -> 3: 2/3, 2 (2/3 + 4/3 rounds to 2.0), 10/3 -> 0, 2, 3.
    expect(picked(resizeImage(row(input), 3, 1, 'nearest'))).toEqual([
      [0, 200, 255],
      [255, 100, 0],
    ]);
    // 4 -> 2: 1, 3.
    expect(picked(resizeImage(row(input), 2, 1, 'nearest'))).toEqual([
      [100, 255],
      [200, 0],
    ]);
    // 2 -> 5: 0.2, 0.6, 1.0, 1.4, 1.8 -> 0, 0, 1, 1, 1.
    expect(channel(resizeImage(row([10, 20]), 5, 1, 'nearest'), 0)).toEqual([10, 10, 20, 20, 20]);
  });

  it('resamples columns exactly like rows', () => {
    for (const filter of FILTERS) {
      for (const n of [2, 3, 7]) {
        const out = resizeImage(column(input), 1, n, filter);
        expect(out.data).toEqual(resizeImage(row(input), n, 1, filter).data);
      }
    }
  });

  it('runs the horizontal pass first, into a clipped 8-bit image', () => {
    // 4x2 image: row 0 = [0, 100, 200, 255], row 1 = black; resize to 7x1 bicubic.
    // Horizontal: row 0 -> [0, 26, 92, 153, 206, 242, 255] (259 clipped to 255, -8 to 0), row 1 -> 0.
    // Vertical 2 -> 1: scale 2, support 4, center 1, taps 0,1 at -0.25, 0.25 -> 0.5, 0.5
    //   out = (2097152 + 2097152 * v) >> 22 = floor((v + 1) / 2):
    //   [0, 13, 46, 77, 103, 121, 128]. Without the 8-bit intermediate the last pixel would be
    //   floor(260/2) = 130; vertical-first would average [0, 50, 100, 128] and upsample that.
    const data = new Uint8Array(4 * 2 * 3);
    input.forEach((v, i) => data.set([v, v, v], i * 3));
    const out = resizeImage({ width: 4, height: 2, data }, 7, 1, 'bicubic');
    expect(channel(out, 0)).toEqual([0, 13, 46, 77, 103, 121, 128]);
    expect(channel(out, 1)).toEqual(channel(out, 0));
  });
});

describe('resizeImage: symmetric cases', () => {
  it('bilinear 2x downscale of alternating columns averages them away from the border', () => {
    // Interior pixels: scale 2, support 2, 4 taps at -0.75, -0.25, 0.25, 0.75 -> 1/8, 3/8, 3/8, 1/8,
    // so [200, 0, 200, 0] -> 100 exactly. Border pixels see only 3 taps (3/7, 3/7, 1/7):
    // left [0, 200, 0] -> 600/7 -> 86, right [200, 0, 200] (1/7, 3/7, 3/7) -> 800/7 -> 114.
    const values = [0, 200, 0, 200, 0, 200, 0, 200];
    const out = resizeImage(row(values), 4, 1, 'bilinear');
    expect(channel(out, 0)).toEqual([86, 100, 100, 114]);
    const tall: RgbImage = { width: 8, height: 6, data: new Uint8Array(8 * 6 * 3) };
    for (let y = 0; y < 6; y++) values.forEach((v, x) => tall.data.set([v, v, v], (y * 8 + x) * 3));
    const out2d = resizeImage(tall, 4, 3, 'bilinear');
    for (let y = 0; y < 3; y++) expect(channel(out2d, 0).slice(y * 4, y * 4 + 4)).toEqual([86, 100, 100, 114]);
  });

  it('bilinear 2x upscale interpolates at quarter positions', () => {
    // scale 0.5, support 1, centers 0.25, 0.75, 1.25, 1.75: the outer pixels copy the edge (one tap),
    // the inner ones weigh 0.75/0.25 -> [0, 25, 75, 100] (25.5 and 75.5 floored).
    expectRow(resizeImage(row([0, 100]), 4, 1, 'bilinear'), [0, 25, 75, 100]);
  });
});
