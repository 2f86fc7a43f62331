import { describe, expect, it } from 'vitest';
import { parseQwen25VlGrounding, parseQwen2VlGrounding, qwen25VlBoxToImage, qwen2VlBoxToImage, qwenResizedSize } from './grounding.js';

const QWEN = { patchSize: 14, mergeSize: 2, minPixels: 56 * 56, maxPixels: 28 * 28 * 1280, doResize: true };

describe('Qwen2.5-VL grounding boxes (absolute pixels of the resized image)', () => {
  it('finds the size the model saw: the smart resize, image_grid_thw x 14', () => {
    // 640 x 480: 480 / 28 = 17.14 -> 17 x 28 = 476, 640 / 28 = 22.86 -> 23 x 28 = 644 (within max_pixels)
    expect(qwenResizedSize({ width: 640, height: 480 }, QWEN)).toEqual({ width: 644, height: 476 });
    // a 4000 x 3000 photo is scaled down below max_pixels
    const big = qwenResizedSize({ width: 4000, height: 3000 }, QWEN);
    expect(big.width * big.height).toBeLessThanOrEqual(QWEN.maxPixels);
    expect([big.width % 28, big.height % 28]).toEqual([0, 0]);
    expect(qwenResizedSize({ width: 641, height: 479 }, { ...QWEN, doResize: false })).toEqual({ width: 641, height: 479 });
  });

  it('maps bbox_2d back to the original image: x by width / resized width, y by height / resized height', () => {
    const size = { width: 640, height: 480 };
    const resized = { width: 644, height: 476 };
    const box = qwen25VlBoxToImage([161, 119, 322, 357], size, resized);
    expect(box.x).toBeCloseTo((161 * 640) / 644, 10);
    expect(box.y).toBeCloseTo((119 * 480) / 476, 10);
    expect(box.width).toBeCloseTo((161 * 640) / 644, 10);
    expect(box.height).toBeCloseTo((238 * 480) / 476, 10);
    // the whole resized image is the whole original image
    expect(qwen25VlBoxToImage([0, 0, 644, 476], size, resized)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
    // reversed corners are swapped; corners outside the resized image are clamped to it
    expect(qwen25VlBoxToImage([322, 357, 161, 119], size, resized)).toEqual(box);
    expect(qwen25VlBoxToImage([-20, -5, 700, 500], size, resized)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
  });

  it('reads the JSON answer, fenced or not, and keeps the complete objects of an answer cut short', () => {
    const answer = '```json\n[\n\t{"bbox_2d": [10, 20, 30, 40], "label": "red square"},\n\t{"bbox_2d": [50, 60, 70, 80], "label": "blue circle"}\n]\n```';
    expect(parseQwen25VlGrounding(answer)).toEqual([
      { corners: [10, 20, 30, 40], label: 'red square' },
      { corners: [50, 60, 70, 80], label: 'blue circle' },
    ]);
    expect(parseQwen25VlGrounding('{"bbox_2d": [1, 2, 3, 4]}')).toEqual([{ corners: [1, 2, 3, 4] }]);
    expect(parseQwen25VlGrounding('```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6')).toEqual([{ corners: [1, 2, 3, 4], label: 'a' }]);
    expect(parseQwen25VlGrounding('There is a cat {"bbox_2d": [5, 6, 7, 8], "label": "cat"} on the mat.')).toEqual([{ corners: [5, 6, 7, 8], label: 'cat' }]);
    expect(parseQwen25VlGrounding('[{"bbox_2d": [1, 2, 3]}, {"point_2d": [1, 2]}, 7]')).toEqual([]);
    expect(parseQwen25VlGrounding('no boxes here')).toEqual([]);
  });
});

describe('Qwen2-VL grounding boxes (normalised to [0, 1000))', () => {
  it('maps <|box_start|>(x1,y1),(x2,y2)<|box_end|> to original-image pixels', () => {
    const size = { width: 640, height: 480 };
    expect(qwen2VlBoxToImage([250, 500, 750, 1000], size)).toEqual({ x: 160, y: 240, width: 320, height: 240 });
    expect(qwen2VlBoxToImage([750, 1000, 250, 500], size)).toEqual({ x: 160, y: 240, width: 320, height: 240 });
    expect(qwen2VlBoxToImage([-10, 0, 1200, 1000], size)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
  });

  it('reads the boxes of an answer with the object each refers to', () => {
    const answer = 'The <|object_ref_start|>red square<|object_ref_end|><|box_start|>(12,34),(456,789)<|box_end|> and <|box_start|>(1, 2),(3, 4)<|box_end|>.';
    expect(parseQwen2VlGrounding(answer)).toEqual([
      { corners: [12, 34, 456, 789], label: 'red square' },
      { corners: [1, 2, 3, 4] },
    ]);
    expect(parseQwen2VlGrounding('nothing')).toEqual([]);
  });
});
