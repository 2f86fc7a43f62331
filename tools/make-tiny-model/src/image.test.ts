import { describe, expect, it } from 'vitest';
import { decodeImage, encodePng } from '@icot/image';
import { drawDemoImage } from './image.js';

describe('drawDemoImage', () => {
  const pixel = (image: ReturnType<typeof drawDemoImage>, fx: number, fy: number): number[] => {
    const i = (Math.floor(fy * image.height) * image.width + Math.floor(fx * image.width)) * 3;
    return Array.from(image.data.subarray(i, i + 3));
  };

  it('draws the scene at any size: red square top left, blue circle right, yellow triangle, green ground, sky', () => {
    for (const [width, height] of [[224, 224], [320, 240], [96, 96]] as const) {
      const image = drawDemoImage(width, height);
      expect(image.data).toHaveLength(width * height * 3);
      expect(pixel(image, 0.2, 0.2)).toEqual([214, 39, 40]);
      expect(pixel(image, 0.72, 0.4)).toEqual([31, 88, 210]);
      expect(pixel(image, 0.5, 0.8)).toEqual([245, 197, 24]);
      expect(pixel(image, 0.1, 0.9)).toEqual([56, 142, 60]);
      expect(pixel(image, 0.5, 0.16)).toEqual([250, 250, 250]);
      const sky = pixel(image, 0.9, 0.05);
      expect(sky[2]).toBeGreaterThan(sky[0]!);
    }
  });

  it('round-trips through PNG', () => {
    const image = drawDemoImage(64, 48);
    expect(decodeImage(encodePng(image))).toMatchObject({ width: 64, height: 48, data: image.data });
  });

  it('refuses sizes too small to draw', () => {
    expect(() => drawDemoImage(4, 100)).toThrow(RangeError);
  });
});
