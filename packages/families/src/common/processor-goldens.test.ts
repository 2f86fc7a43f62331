import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readImageFile, resizeImage } from '@icot/image/node';
import { preprocessClipImage, readClipPreprocessorConfig } from './clip-preprocess.js';
import { pilResampleFilter } from './resample.js';
import { preprocessQwen2VlImage, readQwen2VlPreprocessorConfig } from '../qwen2-vl/preprocess.js';

/**
 * pixel_values of the slow (PIL) Hugging Face processors on photo-sized images that need resizing
 * in both directions, computed with Pillow + numpy by packages/image/test/goldens/make_goldens.py.
 */
const GOLDENS = new URL('../../../image/test/goldens/', import.meta.url);
interface Processed {
  readonly input: string;
  readonly alpha: 'composite' | 'drop';
  readonly config: string;
  readonly resized: [number, number];
  readonly resizedSha256: string;
  readonly dims: number[];
  readonly gridThw?: number[];
  readonly pixelValuesSha256: string;
  readonly samples: { indices: number[]; values: number[] };
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', GOLDENS), 'utf8')) as {
  provenance: string;
  configs: Record<string, Record<string, unknown>>;
  processed: Processed[];
};
const sha256 = (data: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

describe(`preprocessing matches the HF slow processors bit for bit (${manifest.provenance})`, () => {
  for (const golden of manifest.processed) {
    it(`${golden.input} through ${golden.config}: resize to ${golden.resized.join('x')}, pixel_values ${golden.dims.join('x')}`, async () => {
      const image = await readImageFile(new URL(golden.input, GOLDENS).pathname, { alpha: golden.alpha });
      const json = manifest.configs[golden.config]!;
      const [width, height] = golden.resized;
      const resized = resizeImage(image, width, height, pilResampleFilter(json['resample'] as number));
      const out = golden.config.startsWith('clip')
        ? preprocessClipImage(image, readClipPreprocessorConfig(json))
        : preprocessQwen2VlImage(image, readQwen2VlPreprocessorConfig(json));
      if ('gridThw' in out) {
        expect(out.resized).toEqual({ width, height });
        expect(out.gridThw).toEqual(golden.gridThw);
      }
      expect(out.dims).toEqual(golden.dims);
      // Count sampled differences first, so that a mismatch says how far off it is.
      const differing = golden.samples.indices.filter((index, n) => out.pixelValues[index] !== golden.samples.values[n]).length;
      expect({ differingSamples: differing, resized: sha256(resized.data), pixelValues: sha256(out.pixelValues) }).toEqual({
        differingSamples: 0,
        resized: golden.resizedSha256,
        pixelValues: golden.pixelValuesSha256,
      });
    });
  }
});
