import { describe, expect, it } from 'vitest';
import { IcotError, OptionError } from '@icot/core';
import { enforceConnectivity, shrinkImage, slic, type Superpixels } from './slic.js';
import { randomShapes, drawShapes, rect } from '../test/shapes.js';

/** Pixels per (region, class) pair. */
function contingency(s: Superpixels, classes: Int32Array): Map<number, Map<number, number>> {
  const table = new Map<number, Map<number, number>>();
  for (let i = 0; i < classes.length; i++) {
    const row = table.get(s.labels[i]!) ?? new Map<number, number>();
    row.set(classes[i]!, (row.get(classes[i]!) ?? 0) + 1);
    table.set(s.labels[i]!, row);
  }
  return table;
}

/** Each region's majority class. */
function majorityClass(table: Map<number, Map<number, number>>): Map<number, { cls: number; pixels: number; total: number }> {
  const out = new Map<number, { cls: number; pixels: number; total: number }>();
  for (const [region, row] of table) {
    let cls = -2;
    let pixels = -1;
    let total = 0;
    for (const [c, v] of row) {
      total += v;
      if (v > pixels) [cls, pixels] = [c, v];
    }
    out.set(region, { cls, pixels, total });
  }
  return out;
}

/** Every label is one 4-connected piece and labels are 0 .. count - 1. */
function expectConnected(s: Superpixels): void {
  const { width: w, height: h, labels, count } = s;
  const seen = new Uint8Array(w * h);
  const pieces = new Map<number, number>();
  for (let start = 0; start < w * h; start++) {
    if (seen[start]) continue;
    const label = labels[start]!;
    expect(label).toBeGreaterThanOrEqual(0);
    expect(label).toBeLessThan(count);
    pieces.set(label, (pieces.get(label) ?? 0) + 1);
    const stack = [start];
    seen[start] = 1;
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % w;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, i - w, i + w])
        if (j >= 0 && j < w * h && !seen[j] && labels[j] === label) {
          seen[j] = 1;
          stack.push(j);
        }
    }
  }
  expect(pieces.size).toBe(count);
  for (const n of pieces.values()) expect(n).toBe(1);
}

describe('slic on flat coloured shapes', () => {
  // 10 seeded layouts of 5 shapes (squares, disks, triangles) 20-32 px across on a 180 x 120 grey image
  const layouts = Array.from({ length: 10 }, (_, i) => randomShapes(i + 1, 180, 120, 5, 20, 32));

  it('recovers every shape as the union of its superpixels, and superpixels do not cross shape borders (defaults: 100 segments, compactness 10)', () => {
    for (const { image, classes, shapes } of layouts) {
      const s = slic(image);
      expectConnected(s);
      const majority = majorityClass(contingency(s, classes));
      // pixels lying in a superpixel whose majority is another shape (or the background)
      let crossing = 0;
      for (const { pixels, total } of majority.values()) crossing += total - pixels;
      expect(crossing / classes.length).toBeLessThan(0.005);
      shapes.forEach((_, shape) => {
        let both = 0;
        let either = 0;
        for (let i = 0; i < classes.length; i++) {
          const inShape = classes[i] === shape;
          const inRegions = majority.get(s.labels[i]!)!.cls === shape;
          if (inShape && inRegions) both++;
          if (inShape || inRegions) either++;
        }
        expect(both / either).toBeGreaterThan(0.95);
      });
    }
  });

  it('puts each shape mostly in one superpixel when superpixels are about the shapes\' size (20 segments: S = 33 px)', () => {
    for (const { image, classes, shapes } of layouts) {
      const s = slic(image, { segments: 20 });
      shapes.forEach((_, shape) => {
        const inRegion = new Map<number, number>();
        let size = 0;
        for (let i = 0; i < classes.length; i++)
          if (classes[i] === shape) {
            size++;
            inRegion.set(s.labels[i]!, (inRegion.get(s.labels[i]!) ?? 0) + 1);
          }
        const largest = [...inRegion.values()].reduce((a, b) => Math.max(a, b), 0);
        expect(largest / size).toBeGreaterThan(0.9);
      });
    }
  });

  it('gives about the asked number of superpixels, each 4-connected, and is deterministic', () => {
    const { image } = layouts[0]!;
    for (const segments of [10, 100, 400]) {
      const s = slic(image, { segments });
      expectConnected(s);
      expect(s.count).toBeGreaterThan(segments * 0.7);
      expect(s.count).toBeLessThan(segments * 1.3);
      expect(slic(image, { segments }).labels).toEqual(s.labels);
    }
  });

  it('follows colour more with low compactness and space more with high compactness', () => {
    // a wavy two-colour border: low compactness follows it, high compactness cuts across it
    const wave = drawShapes(120, 120, [200, 200, 200], [{ colour: [20, 40, 160], inside: (x, y) => y > 60 + 18 * Math.sin(x / 9) }]).image;
    const classes = drawShapes(120, 120, [0, 0, 0], [{ colour: [0, 0, 0], inside: (x, y) => y > 60 + 18 * Math.sin(x / 9) }]).classes;
    const crossing = (m: number) => {
      let c = 0;
      for (const { pixels, total } of majorityClass(contingency(slic(wave, { segments: 36, compactness: m }), classes)).values()) c += total - pixels;
      return c;
    };
    expect(crossing(1)).toBeLessThan(crossing(200));
  });

  it('handles images smaller than a superpixel, single rows and one pixel', () => {
    const tiny = drawShapes(3, 2, [10, 20, 30], [rect(0, 0, 1, 2, [250, 0, 0])]).image;
    const s = slic(tiny);
    expect(s.count).toBeGreaterThanOrEqual(1);
    expectConnected(s);
    expect(slic({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) }).count).toBe(1);
    expectConnected(slic(drawShapes(200, 1, [0, 0, 0], [rect(100, 0, 100, 1, [255, 255, 255])]).image, { segments: 4 }));
  });

  it('rejects bad settings and bad images with typed errors', () => {
    const image = layouts[0]!.image;
    for (const bad of [{ segments: 0 }, { segments: 2.5 }, { compactness: 0 }, { compactness: Number.NaN }, { iterations: 0 }, { minSizeFactor: 2 }])
      expect(() => slic(image, bad)).toThrow(OptionError);
    const error = (() => {
      try {
        slic({ width: 4, height: 4, data: new Uint8Array(10) });
      } catch (e) {
        return e;
      }
    })();
    expect(IcotError.is(error) && error.code).toBe('image-unreadable');
  });
});

describe('enforceConnectivity', () => {
  it('splits a label into its pieces, keeps every main piece, and merges small orphans into the neighbour with the longest border', () => {
    // label 1 has a main piece (column 0-1) and a 1-pixel orphan at (4, 0) inside label 2's area;
    // label 0 is a 1-pixel main piece and stays
    // 1 1 2 2 1
    // 1 1 2 2 2
    // 1 1 2 0 2
    const labels = Int32Array.from([1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 2, 0, 2]);
    const s = enforceConnectivity(labels, 5, 3, 2);
    expect(Array.from(s.labels)).toEqual([0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1]);
    expect(s.count).toBe(3);
    // with minSize 1 the orphan keeps a label of its own
    expect(enforceConnectivity(labels, 5, 3, 1).count).toBe(4);
  });

  it('merges orphans touching only orphans in a later round (ties to the lower label)', () => {
    // one row: label 3 | orphan of 1 | orphan of 2 | orphan of 1 | main of 2 | main of 1
    // round 1: x=3 joins label 3's piece, x=5 joins 2's main piece; round 2: x=4 touches both (tie) -> the lower
    const labels = Int32Array.from([3, 3, 3, 1, 2, 1, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1]);
    const s = enforceConnectivity(labels, 16, 1, 2);
    expect(Array.from(s.labels)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    expect(s.count).toBe(3);
  });
});

describe('shrinkImage', () => {
  it('block-averages by the smallest integer factor that fits, rounding half up, and keeps small images', () => {
    const image = { width: 5, height: 3, data: new Uint8Array(45) };
    for (let i = 0; i < 15; i++) image.data.set([i * 10, 255 - i, i % 2], i * 3);
    expect(shrinkImage(image, 15)).toEqual({ image, factor: 1 });
    const { image: small, factor } = shrinkImage(image, 6);
    expect(factor).toBe(2);
    expect([small.width, small.height]).toEqual([3, 2]);
    // block (0, 0): pixels 0, 1, 5, 6 -> red (0 + 10 + 50 + 60) / 4 = 30; green (255+254+250+249)/4 = 252;
    // blue (0 + 1 + 1 + 0) / 4 = 0.5 -> 1
    expect(Array.from(small.data.subarray(0, 3))).toEqual([30, 252, 1]);
    // block (2, 1): pixel 14 alone
    expect(Array.from(small.data.subarray(15, 18))).toEqual([140, 241, 0]);
  });
});
