import { describe, expect, it } from 'vitest';
import { ATTENTION_COLORMAP, ATTENTION_COLORMAP_OKLAB, ATTENTION_COLORMAP_SIZE, attentionColor, attentionRampDesign, oklabToLinearSrgb, srgbToOklab, type Oklab } from './colormap.js';

const distance = (p: Oklab, q: Oklab) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
const hueDegrees = ([, a, b]: Oklab) => (Math.atan2(b, a) * 180) / Math.PI;

describe('OKLab conversions', () => {
  it('map white to L = 1 and grey to a = b = 0, and invert each other', () => {
    const white = srgbToOklab([255, 255, 255]);
    expect(white[0]).toBeCloseTo(1, 4);
    expect(Math.hypot(white[1], white[2])).toBeLessThan(1e-4);
    const grey = srgbToOklab([119, 119, 119]);
    expect(Math.hypot(grey[1], grey[2])).toBeLessThan(1e-4);
    expect(srgbToOklab([0, 0, 0])).toEqual([0, 0, 0]);
    // pure sRGB red, green and blue in OKLab (Ottosson's definition): lightness order blue < red < green
    const [red, green, blue] = ([[255, 0, 0], [0, 255, 0], [0, 0, 255]] as const).map((c) => srgbToOklab(c));
    expect(red![0]).toBeCloseTo(0.628, 3);
    expect(green![0]).toBeCloseTo(0.866, 3);
    expect(blue![0]).toBeCloseTo(0.452, 3);
    for (const rgb of [[12, 200, 77], [255, 128, 0], [30, 30, 250], [200, 10, 180]] as const) {
      const linear = oklabToLinearSrgb(srgbToOklab(rgb));
      const back = linear.map((v) => 255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055));
      back.forEach((v, i) => expect(v).toBeCloseTo(rgb[i]!, 3));
    }
  });
});

describe('the attention colour map', () => {
  it('has 256 entries, all inside the sRGB gamut before clipping (nothing is clipped)', () => {
    expect(ATTENTION_COLORMAP).toHaveLength(ATTENTION_COLORMAP_SIZE);
    for (let k = 0; k <= 1000; k++) {
      for (const v of oklabToLinearSrgb(attentionRampDesign(k / 1000))) {
        expect(v).toBeGreaterThanOrEqual(-1e-9);
        expect(v).toBeLessThanOrEqual(1 + 1e-9);
      }
    }
  });

  it('is perceptually uniform: equal OKLab steps between neighbouring entries, also after rounding to 8 bits', () => {
    const steps = ATTENTION_COLORMAP_OKLAB.slice(1).map((lab, k) => distance(ATTENTION_COLORMAP_OKLAB[k]!, lab));
    const mean = steps.reduce((a, b) => a + b) / steps.length;
    for (const step of steps) expect(Math.abs(step - mean) / mean).toBeLessThan(0.01);
    // the 8-bit colours stay within 8-bit rounding of the curve ...
    ATTENTION_COLORMAP.forEach((rgb, k) => expect(distance(srgbToOklab(rgb), ATTENTION_COLORMAP_OKLAB[k]!)).toBeLessThan(0.003));
    // ... so steps of 16 entries, as a reader compares colours, are equal within 10 %
    const rounded = ATTENTION_COLORMAP.map((rgb) => srgbToOklab(rgb));
    const coarse = Array.from({ length: 15 }, (_, k) => distance(rounded[k * 17]!, rounded[(k + 1) * 17]!));
    const coarseMean = coarse.reduce((a, b) => a + b) / coarse.length;
    for (const step of coarse) expect(Math.abs(step - coarseMean) / coarseMean).toBeLessThan(0.1);
  });

  it('rises in lightness from dark blue-violet to light yellow (readable in grey scale)', () => {
    const lightness = ATTENTION_COLORMAP.map((rgb) => srgbToOklab(rgb)[0]);
    for (let k = 1; k < lightness.length; k++) expect(lightness[k]!).toBeGreaterThan(lightness[k - 1]!);
    expect(lightness[0]!).toBeCloseTo(0.28, 2);
    expect(lightness.at(-1)!).toBeCloseTo(0.92, 2);
    const [first, last] = [srgbToOklab(ATTENTION_COLORMAP[0]!), srgbToOklab(ATTENTION_COLORMAP.at(-1)!)];
    expect(hueDegrees(first)).toBeCloseTo(-42, -1); // blue-violet
    expect(hueDegrees(last)).toBeCloseTo(102, -1); // yellow
    const [r, g, b] = ATTENTION_COLORMAP.at(-1)!;
    expect(r).toBeGreaterThan(200);
    expect(g).toBeGreaterThan(200);
    expect(b).toBeLessThan(120);
  });

  it('attentionColor gives the entry of t as #rrggbb, clamped to [0, 1]', () => {
    const hex = (k: number) => `#${ATTENTION_COLORMAP[k]!.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    expect(attentionColor(0)).toBe(hex(0));
    expect(attentionColor(1)).toBe(hex(255));
    expect(attentionColor(0.5)).toBe(hex(128));
    expect(attentionColor(-3)).toBe(hex(0));
    expect(attentionColor(7)).toBe(hex(255));
    expect(attentionColor(Number.NaN)).toBe(hex(0));
    expect(attentionColor(0.25)).toMatch(/^#[0-9a-f]{6}$/);
  });
});
