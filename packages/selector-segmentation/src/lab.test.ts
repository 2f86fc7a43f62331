import { describe, expect, it } from 'vitest';
import { rgbToLab } from './lab.js';

const lab = (r: number, g: number, b: number) => {
  const out = rgbToLab({ width: 1, height: 1, data: Uint8Array.from([r, g, b]) });
  return [out.l[0]!, out.a[0]!, out.b[0]!];
};

describe('rgbToLab', () => {
  it('gives the published CIELAB (D65) values of the sRGB primaries', () => {
    // Bruce Lindbloom's CIE colour calculator (sRGB, D65, 2°): red 53.2408 80.0925 67.2032,
    // green 87.7347 -86.1827 83.1793, blue 32.2970 79.1875 -107.8602
    const cases: [number[], number[]][] = [
      [[255, 0, 0], [53.2408, 80.0925, 67.2032]],
      [[0, 255, 0], [87.7347, -86.1827, 83.1793]],
      [[0, 0, 255], [32.297, 79.1875, -107.8602]],
    ];
    for (const [rgb, expected] of cases) {
      const got = lab(rgb[0]!, rgb[1]!, rgb[2]!);
      for (let c = 0; c < 3; c++) expect(got[c]).toBeCloseTo(expected[c]!, 3);
    }
  });

  it('maps white to L* 100 and greys to a* = b* = 0, through the linear segment for dark greys', () => {
    expect(lab(255, 255, 255)).toEqual([100, 0, 0].map((v) => expect.closeTo(v, 4)));
    expect(lab(0, 0, 0)).toEqual([0, 0, 0]);
    // sRGB 128: linear 0.2158605 -> L* = 116 * cbrt(0.2158605) - 16 = 53.5850
    expect(lab(128, 128, 128)[0]).toBeCloseTo(53.585, 3);
    // sRGB 5: linear 5/255/12.92 = 0.0015176 (below epsilon) -> L* = kappa * Y = 1.3709
    const dark = lab(5, 5, 5);
    expect(dark[0]).toBeCloseTo((24389 / 27) * (5 / 255 / 12.92), 4);
    expect(Math.abs(dark[1]!) + Math.abs(dark[2]!)).toBeLessThan(1e-4);
  });

  it('converts every pixel of an image, plane by plane', () => {
    const image = { width: 3, height: 1, data: Uint8Array.from([255, 0, 0, 255, 0, 0, 0, 0, 255]) };
    const out = rgbToLab(image);
    expect(out.l).toHaveLength(3);
    expect(out.l[0]).toBe(out.l[1]);
    expect(out.b[2]).toBeCloseTo(-107.8602, 3);
  });
});
