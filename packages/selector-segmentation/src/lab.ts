import type { RgbImage } from '@icot/core';

/**
 * sRGB (IEC 61966-2-1) 8-bit values to linear light: `c / 12.92` up to 0.04045, else
 * `((c + 0.055) / 1.055) ^ 2.4`, with c in [0, 1]. One entry per 8-bit value.
 */
const SRGB_TO_LINEAR: Float64Array = (() => {
  const table = new Float64Array(256);
  for (let v = 0; v < 256; v++) {
    const c = v / 255;
    table[v] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return table;
})();

/**
 * Linear sRGB to CIE XYZ (D65), the matrix of IEC 61966-2-1 as derived from the sRGB primaries
 * and the D65 white point (Bruce Lindbloom, "RGB/XYZ Matrices", sRGB row), rows X, Y, Z.
 */
const RGB_TO_XYZ = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041] as const;

/**
 * The D65 reference white (CIE 1931 2° observer): XYZ of sRGB white, the rows of RGB_TO_XYZ summed
 * (0.95047, 1.0000001, 1.08883), so that white has L* = 100 and a* = b* = 0.
 */
const WHITE_X = 0.4124564 + 0.3575761 + 0.1804375;
const WHITE_Y = 0.2126729 + 0.7151522 + 0.072175;
const WHITE_Z = 0.0193339 + 0.119192 + 0.9503041;

/** CIE's exact constants (CIE 15:2004; epsilon = (6/29)^3 = 216/24389, kappa = 24389/27). */
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;

/** The CIELAB companding function f(t): the cube root above epsilon, the linear segment below. */
function labF(t: number): number {
  return t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
}

/** An image in CIELAB: one plane per channel, `width * height` values each, rows top to bottom. */
export interface LabImage {
  readonly width: number;
  readonly height: number;
  /** L* in [0, 100]. */
  readonly l: Float32Array;
  /** a*. */
  readonly a: Float32Array;
  /** b*. */
  readonly b: Float32Array;
}

/**
 * Convert an 8-bit sRGB image to CIELAB (D65 white, 2° observer): sRGB decoding (IEC 61966-2-1),
 * the sRGB-to-XYZ matrix, then CIE 1976 L*a*b* (CIE 15:2004) with the exact epsilon and kappa.
 * SLIC (Achanta et al. 2012, section 3) clusters in this space. O(pixels); identical colours are
 * converted once per run of equal pixels.
 */
export function rgbToLab(image: RgbImage): LabImage {
  const { width, height, data } = image;
  const n = width * height;
  const l = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  let lastR = -1;
  let lastG = -1;
  let lastB = -1;
  let lastL = 0;
  let lastA = 0;
  let lastBb = 0;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const r8 = data[o]!;
    const g8 = data[o + 1]!;
    const b8 = data[o + 2]!;
    if (r8 !== lastR || g8 !== lastG || b8 !== lastB) {
      const r = SRGB_TO_LINEAR[r8]!;
      const g = SRGB_TO_LINEAR[g8]!;
      const bl = SRGB_TO_LINEAR[b8]!;
      const fx = labF((RGB_TO_XYZ[0] * r + RGB_TO_XYZ[1] * g + RGB_TO_XYZ[2] * bl) / WHITE_X);
      const fy = labF((RGB_TO_XYZ[3] * r + RGB_TO_XYZ[4] * g + RGB_TO_XYZ[5] * bl) / WHITE_Y);
      const fz = labF((RGB_TO_XYZ[6] * r + RGB_TO_XYZ[7] * g + RGB_TO_XYZ[8] * bl) / WHITE_Z);
      lastL = 116 * fy - 16;
      lastA = 500 * (fx - fy);
      lastBb = 200 * (fy - fz);
      lastR = r8;
      lastG = g8;
      lastB = b8;
    }
    l[i] = lastL;
    a[i] = lastA;
    b[i] = lastBb;
  }
  return { width, height, l, a, b };
}
