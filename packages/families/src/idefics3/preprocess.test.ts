import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImageError, ModelConfigError } from '@icot/core';
import { readImageFile } from '@icot/image/node';
import { idefics3EncoderSize, idefics3ResizedSize, planIdefics3Image, preprocessIdefics3Image, readIdefics3PreprocessorConfig } from './preprocess.js';

/**
 * pixel_values of transformers' slow SmolVLMImageProcessor, rebuilt with Pillow + numpy by
 * test/idefics3-goldens/make_goldens.py (provenance in its manifest).
 */
const GOLDENS = new URL('../../test/idefics3-goldens/', import.meta.url);
interface Golden {
  readonly input: string;
  readonly inputSha256: string;
  readonly config: string;
  readonly size: [number, number];
  readonly resized?: [number, number];
  readonly encoderSize: [number, number];
  readonly grid: { rows: number; cols: number };
  readonly dims: number[];
  readonly pixelValuesSha256: string;
  readonly samples: { indices: number[]; values: number[] };
}
const manifest = JSON.parse(readFileSync(new URL('manifest.json', GOLDENS), 'utf8')) as { provenance: string; configs: Record<string, Record<string, unknown>>; processed: Golden[] };
const sha256 = (data: ArrayBufferView): string => createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');

describe(`Idefics3 / SmolVLM preprocessing matches the slow processor bit for bit (${manifest.provenance})`, () => {
  for (const golden of manifest.processed) {
    it(`${golden.input.split('/').pop()} through ${golden.config}: ${golden.grid.rows}x${golden.grid.cols} tiles, pixel_values ${golden.dims.join('x')}`, async () => {
      const path = new URL(golden.input, GOLDENS).pathname;
      expect(sha256(readFileSync(path))).toBe(golden.inputSha256);
      const config = readIdefics3PreprocessorConfig(manifest.configs[golden.config]!);
      const out = preprocessIdefics3Image(await readImageFile(path), config);
      expect(out.plan.size).toEqual({ width: golden.size[0], height: golden.size[1] });
      if (golden.resized) expect(out.plan.resized).toEqual({ width: golden.resized[0], height: golden.resized[1] });
      expect(out.plan.encoderSize).toEqual({ width: golden.encoderSize[0], height: golden.encoderSize[1] });
      expect(out.plan.grid).toEqual(golden.grid);
      expect(out.dims).toEqual(golden.dims);
      expect(out.maskDims).toEqual([1, golden.dims[1], golden.dims[3], golden.dims[4]]);
      expect(out.pixelAttentionMask.every((v) => v === 1)).toBe(true);
      // Count sampled differences first, so that a mismatch says how far off it is.
      const differing = golden.samples.indices.filter((index, n) => out.pixelValues[index] !== golden.samples.values[n]).length;
      expect({ differingSamples: differing, pixelValues: sha256(out.pixelValues) }).toEqual({ differingSamples: 0, pixelValues: golden.pixelValuesSha256 });
    });
  }
});

describe('Idefics3 sizes', () => {
  it('resizes the long edge to longest_edge (up or down), the short edge truncated and made even', () => {
    expect(idefics3ResizedSize({ width: 640, height: 480 }, 2048)).toEqual({ width: 2048, height: 1536 });
    expect(idefics3ResizedSize({ width: 333, height: 500 }, 128)).toEqual({ width: 86, height: 128 }); // 85.2 -> 85 -> 86
    expect(idefics3ResizedSize({ width: 61, height: 47 }, 64)).toEqual({ width: 64, height: 50 }); // 49.3 -> 49 -> 50
    expect(idefics3ResizedSize({ width: 1, height: 3000 }, 2048)).toEqual({ width: 1, height: 2048 }); // 0 -> even 0 -> at least 1
  });

  it('rounds both edges up to multiples of the tile, the short one from the rounded long one', () => {
    expect(idefics3EncoderSize({ width: 2048, height: 1536 }, 512)).toEqual({ width: 2048, height: 1536 });
    expect(idefics3EncoderSize({ width: 86, height: 128 }, 64)).toEqual({ width: 128, height: 128 });
    expect(idefics3EncoderSize({ width: 100, height: 1000 }, 364)).toEqual({ width: 364, height: 1092 });
  });

  it('plans tiles + global image, a single tile, or a squared image without splitting', () => {
    const config = readIdefics3PreprocessorConfig({ size: { longest_edge: 128 }, max_image_size: { longest_edge: 64 } });
    expect(planIdefics3Image({ width: 640, height: 480 }, config)).toMatchObject({ grid: { rows: 2, cols: 2 }, frameCount: 5, tileSize: 64 });
    expect(planIdefics3Image({ width: 640, height: 160 }, config)).toMatchObject({ resized: { width: 128, height: 32 }, encoderSize: { width: 128, height: 64 }, grid: { rows: 1, cols: 2 }, frameCount: 3 });
    expect(planIdefics3Image({ width: 50, height: 50 }, { ...config, longestEdge: 64 })).toMatchObject({ grid: { rows: 0, cols: 0 }, frameCount: 1 });
    expect(planIdefics3Image({ width: 640, height: 480 }, { ...config, doImageSplitting: false })).toMatchObject({ encoderSize: { width: 64, height: 64 }, frameCount: 1 });
  });

  it('reads transformers defaults and refuses bad sizes with a typed error', () => {
    expect(readIdefics3PreprocessorConfig({})).toMatchObject({ longestEdge: 1456, tileSize: 364, resample: 'lanczos', doImageSplitting: true, imageMean: [0.5, 0.5, 0.5] });
    expect(() => readIdefics3PreprocessorConfig({ size: { longest_edge: 0 } })).toThrow(ModelConfigError);
    expect(() => readIdefics3PreprocessorConfig({ size: { longest_edge: 8192 } })).toThrow(/4096/);
    expect(() => planIdefics3Image({ width: 0, height: 5 }, readIdefics3PreprocessorConfig({}))).toThrow(ImageError);
  });
});
