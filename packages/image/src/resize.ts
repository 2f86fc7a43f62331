import { OptionError, type RgbImage } from '@icot/core';
import { assertRgbImage, assertSize, copyImage } from './image.js';

/** Resampling filters of {@link resizeImage}, named as in Pillow (`Image.Resampling`). */
export type ResampleFilter = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';

/** A convolution kernel: `weight(x)` is zero for `|x| >= support`. */
interface Kernel {
  readonly support: number;
  readonly weight: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const t = x * Math.PI;
  return Math.sin(t) / t;
}

// The kernels are written with the same operation order as Pillow's so that the doubles agree.
const KERNELS: Readonly<Record<Exclude<ResampleFilter, 'nearest'>, Kernel>> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const ax = Math.abs(x);
      return ax < 1 ? 1 - ax : 0;
    },
  },
  bicubic: {
    // Keys' cubic convolution with a = -0.5: (a+2) = 1.5, (a+3) = 2.5.
    support: 2,
    weight: (x) => {
      const ax = Math.abs(x);
      if (ax < 1) return (1.5 * ax - 2.5) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * -0.5;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  },
};

/** Fixed-point precision of Pillow's 8-bit resampler: 32 bits minus 8 for the value and 2 for overflow. */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output pixel of one axis: the first input index, the tap count and fixed-point weights. */
interface Coefficients {
  /** Taps reserved per output pixel in `weights`. */
  readonly ksize: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
}

/**
 * The filter taps that map `inSize` samples onto `outSize`, as Pillow's `precompute_coeffs`
 * followed by `normalize_coeffs_8bpc`: the kernel is stretched by the downscale factor
 * (antialiasing), normalised to sum 1 and rounded half away from zero to 22-bit fixed point.
 */
function coefficients(inSize: number, outSize: number, kernel: Kernel): Coefficients {
  const scale = inSize / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = kernel.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const invFilterScale = 1 / filterScale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const taps = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts to int, i.e. truncation toward zero, then clamps to the image.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const n = xmax - xmin;
    let total = 0;
    for (let x = 0; x < n; x++) {
      const w = kernel.weight((x + xmin - center + 0.5) * invFilterScale);
      taps[x] = w;
      total += w;
    }
    for (let x = 0; x < n; x++) {
      const w = total !== 0 ? taps[x]! / total : taps[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, start, count, weights };
}

/** Rounds a fixed-point sum (which already holds the +0.5 bias) to a clipped byte. */
function clip8(sum: number): number {
  const v = Math.floor(sum / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Horizontal pass over input rows `[rowStart, rowEnd)`; the result is 8-bit like Pillow's temporary image. */
function resampleRows(image: RgbImage, outWidth: number, rowStart: number, rowEnd: number, c: Coefficients): Uint8Array {
  const src = image.data;
  const inStride = image.width * 3;
  const out = new Uint8Array((rowEnd - rowStart) * outWidth * 3);
  let o = 0;
  for (let y = rowStart; y < rowEnd; y++) {
    const row = y * inStride;
    for (let xx = 0; xx < outWidth; xx++) {
      const k = xx * c.ksize;
      const n = c.count[xx]!;
      let p = row + c.start[xx]! * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < n; x++, p += 3) {
        const w = c.weights[k + x]!;
        r += src[p]! * w;
        g += src[p + 1]! * w;
        b += src[p + 2]! * w;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return out;
}

/** Vertical pass; `rowOffset` is the input row that `src` starts at. */
function resampleColumns(src: Uint8Array, width: number, rowOffset: number, outHeight: number, c: Coefficients): Uint8Array {
  const stride = width * 3;
  const out = new Uint8Array(outHeight * stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const k = yy * c.ksize;
    const n = c.count[yy]!;
    const first = (c.start[yy]! - rowOffset) * stride;
    const o = yy * stride;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let y = 0, p = first + i; y < n; y++, p += stride) sum += src[p]! * c.weights[k + y]!;
      out[o + i] = clip8(sum);
    }
  }
  return out;
}

/**
 * Pillow's NEAREST resize (`ImagingScaleAffine`): source positions start at half a step and are
 * advanced by repeated addition (so float rounding picks the same pixels as Pillow), then truncated.
 */
function nearestIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const indices = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    const index = pos < 0 ? -1 : Math.trunc(pos);
    indices[i] = index < inSize ? index : -1;
    pos += step;
  }
  return indices;
}

function resizeNearest(image: RgbImage, width: number, height: number): RgbImage {
  const xs = nearestIndices(image.width, width);
  const ys = nearestIndices(image.height, height);
  const src = image.data;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = ys[y]!;
    if (sy < 0) continue; // outside the source: left black, as Pillow fills with zeros
    const row = sy * image.width * 3;
    for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
      const sx = xs[x]!;
      if (sx < 0) continue;
      const p = row + sx * 3;
      data[o] = src[p]!;
      data[o + 1] = src[p + 1]!;
      data[o + 2] = src[p + 2]!;
    }
  }
  return { width, height, data };
}

/**
 * Resizes like Pillow's `Image.resize((width, height), resample)` on an RGB image, bit for bit:
 * a separable convolution (horizontal pass first, into an 8-bit intermediate, then vertical),
 * with the kernel widened by the downscale factor for antialiasing and 22-bit fixed-point
 * weights. A pass whose size does not change is skipped; the same size returns a copy.
 * `nearest` follows Pillow's nearest-neighbour rule. Defaults to `bicubic`, Pillow's default.
 */
export function resizeImage(image: RgbImage, width: number, height: number, filter: ResampleFilter = 'bicubic'): RgbImage {
  assertRgbImage(image, 'resizeImage');
  assertSize(width, height, 'resizeImage');
  if (width === image.width && height === image.height) return copyImage(image);
  if (filter === 'nearest') return resizeNearest(image, width, height);
  const kernel = KERNELS[filter];
  if (!kernel) {
    throw new OptionError(`resizeImage: unknown filter '${String(filter)}'.`, { hint: "Use 'nearest', 'bilinear', 'bicubic' or 'lanczos'." });
  }

  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  const vertical = needVertical ? coefficients(image.height, height, kernel) : undefined;
  // Only the rows that the vertical pass reads go through the horizontal pass.
  const rowStart = vertical ? vertical.start[0]! : 0;
  const rowEnd = vertical ? vertical.start[height - 1]! + vertical.count[height - 1]! : image.height;

  let data = image.data;
  let offset = 0;
  if (needHorizontal) {
    data = resampleRows(image, width, rowStart, rowEnd, coefficients(image.width, width, kernel));
    offset = rowStart;
  }
  if (vertical) data = resampleColumns(data, width, offset, height, vertical);
  return { width, height, data };
}
