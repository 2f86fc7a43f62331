import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImageError } from '@icot/core';
import { decodeImage } from '@icot/image';
import { fixturePath, loadOracle, loadReferencePixels } from '@icot/testing';
import { preprocessQwen2VlImage, readQwen2VlPreprocessorConfig } from './preprocess.js';
import { smartResize } from './smart-resize.js';

const config = readQwen2VlPreprocessorConfig(JSON.parse(readFileSync(fixturePath('tiny-qwen2-vl', 'preprocessor_config.json'), 'utf8')));

describe('smartResize', () => {
  it('rounds to multiples of the factor (half to even, like Python)', () => {
    expect(smartResize(224, 224, 28, 3136, 50176)).toEqual({ height: 224, width: 224 });
    expect(smartResize(70, 98, 28, 3136, 1e6)).toEqual({ height: 56, width: 112 }); // 2.5 -> 2, 3.5 -> 4
  });
  it('shrinks into max_pixels and grows into min_pixels, keeping the aspect ratio', () => {
    const big = smartResize(1000, 2000, 28, 3136, 50176);
    expect(big.height * big.width).toBeLessThanOrEqual(50176);
    expect(big.width % 28).toBe(0);
    expect(big.width / big.height).toBeCloseTo(2, 0);
    const small = smartResize(20, 30, 28, 3136, 50176);
    expect(small.height * small.width).toBeGreaterThanOrEqual(3136);
  });
  it('rejects aspect ratios beyond 200:1', () => {
    expect(() => smartResize(10, 2100, 28, 3136, 1e7)).toThrow(ImageError);
  });
});

describe('preprocessQwen2VlImage', () => {
  it('reproduces the Hugging Face processor output on the fixture image', () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const reference = loadReferencePixels('tiny-qwen2-vl');
    const image = decodeImage(new Uint8Array(readFileSync(fixturePath('tiny-qwen2-vl', 'image.png'))));
    const out = preprocessQwen2VlImage(image, config);
    expect(out.dims).toEqual(oracle.pixel_values_shape);
    expect(out.gridThw).toEqual([1, 16, 16]);
    let max = 0;
    for (let i = 0; i < reference.length; i++) max = Math.max(max, Math.abs(out.pixelValues[i]! - reference[i]!));
    expect(max).toBeLessThan(1e-6);
  });

  it('resizes images that are not multiples of 28 and keeps merge blocks together', () => {
    const data = new Uint8Array(100 * 60 * 3).fill(128);
    const out = preprocessQwen2VlImage({ width: 100, height: 60, data }, config);
    expect(out.resized).toEqual({ width: 112, height: 56 });
    expect(out.gridThw).toEqual([1, 4, 8]);
    expect(out.dims).toEqual([32, 1176]);
  });
});
