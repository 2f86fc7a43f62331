import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '@icot/core';
import { decodeImage as decodeInBrowserEntry, type AlphaHandling } from '../src/index.js';
import { decodeImage, readImageFile } from '../src/node.js';

/** Goldens made by goldens/make_goldens.py with Pillow (see manifest.json's provenance). */
const GOLDENS = new URL('./goldens/', import.meta.url);
const goldenPath = (relative: string): string => new URL(relative, GOLDENS).pathname;
const bytesOf = (relative: string): Uint8Array => new Uint8Array(readFileSync(goldenPath(relative)));

interface DecodeCase {
  readonly input: string;
  readonly what: string;
  readonly composite: string;
  readonly drop: string;
  readonly pillowMode: string;
}
interface PhotoCase {
  readonly input: string;
  readonly alpha: AlphaHandling;
  readonly size: [number, number];
  readonly sha256: string;
  readonly samples: { indices: number[]; values: number[] };
}
const manifest = JSON.parse(readFileSync(goldenPath('manifest.json'), 'utf8')) as { provenance: string; cases: DecodeCase[]; photos: PhotoCase[] };

/** How many samples differ and by how much at most (0/0 when equal); sizes must match. */
function difference(actual: RgbImage, expected: RgbImage): { differing: number; max: number } {
  expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
  let differing = 0;
  let max = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i]! - expected.data[i]!);
    if (d) {
      differing += 1;
      if (d > max) max = d;
    }
  }
  return { differing, max };
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe(`decoding matches Pillow exactly (${manifest.provenance})`, () => {
  for (const c of manifest.cases) {
    for (const alpha of ['composite', 'drop'] as const) {
      it(`${c.input} (${c.pillowMode}, alpha ${alpha}): ${c.what}`, async () => {
        const expected = await decodeImage(bytesOf(c[alpha]));
        const actual = await decodeImage(bytesOf(c.input), { alpha, name: c.input });
        expect(difference(actual, expected)).toEqual({ differing: 0, max: 0 });
      });
    }
  }

  for (const photo of manifest.photos) {
    it(`${photo.input} (${photo.size.join('x')} after orientation)`, async () => {
      const actual = await readImageFile(goldenPath(photo.input), { alpha: photo.alpha });
      expect([actual.width, actual.height]).toEqual(photo.size);
      const differing = photo.samples.indices.filter((index, n) => actual.data[index] !== photo.samples.values[n]).length;
      expect({ differingSamples: differing, sha256: sha256(actual.data) }).toEqual({ differingSamples: 0, sha256: photo.sha256 });
    });
  }
});

describe('the browser entry decodes PNG exactly (no sharp) and says where it cannot', () => {
  // zTXt needs zlib, which the browser entry does not bring: that metadata is not read there.
  const needsInflate = new Set(['inputs/png-raw-profile-6.png']);
  for (const c of manifest.cases.filter((c) => c.input.endsWith('.png') && !needsInflate.has(c.input))) {
    it(`${c.input}`, async () => {
      for (const alpha of ['composite', 'drop'] as const) {
        const expected = await decodeImage(bytesOf(c[alpha]));
        expect(difference(decodeInBrowserEntry(bytesOf(c.input), { alpha }), expected)).toEqual({ differing: 0, max: 0 });
      }
    });
  }

  it('ignores orientation stored in compressed PNG text chunks (documented)', () => {
    const image = decodeInBrowserEntry(bytesOf('inputs/png-raw-profile-6.png'));
    expect([image.width, image.height]).toEqual([29, 19]); // stored orientation, not rotated
  });

  it('decodes JPEG with jpeg-js: right size and orientation, but not Pillow-exact (documented)', async () => {
    const c = manifest.cases.find((c) => c.input === 'inputs/jpeg-420.jpg')!;
    const expected = await decodeImage(bytesOf(c.composite));
    const { differing, max } = difference(decodeInBrowserEntry(bytesOf(c.input)), expected);
    expect(differing).toBeGreaterThan(0);
    expect(max).toBeGreaterThan(1);
    const rotated = decodeInBrowserEntry(bytesOf('inputs/jpeg-exif-6.jpg'));
    expect([rotated.width, rotated.height]).toEqual([19, 29]);
  });
});
