import { describe, expect, it } from 'vitest';
import { answeredBoxToImage, parseGroundingAnswer, qwenResizedSize } from './parse.js';
import { parseAnswer } from './vlm-grounder.js';

/** A Qwen-style encoded image: `rows x cols` merged tokens over an original image of `width x height`. */
const image = (width: number, height: number, rows: number, cols: number) => ({ size: { width, height }, grid: { rows, cols } });

describe('parseGroundingAnswer: Qwen2-VL box tokens', () => {
  it('reads one box and the object it refers to', () => {
    expect(parseGroundingAnswer('<|object_ref_start|>the red square<|object_ref_end|><|box_start|>(12,34),(456,789)<|box_end|>', 'qwen2-vl')).toEqual([
      { corners: [12, 34, 456, 789], label: 'the red square' },
    ]);
  });

  it('reads several boxes in the order written, with and without a reference, spaces allowed', () => {
    const answer =
      'Here: <|object_ref_start|>a cat<|object_ref_end|><|box_start|>(1,2),(300,400)<|box_end|>, and <|box_start|>( 5 , 6 ),( 7 , 8 )<|box_end|>' +
      '<|object_ref_start|>a dog<|object_ref_end|><|box_start|>(900,10),(999,999)<|box_end|>';
    expect(parseGroundingAnswer(answer, 'qwen2-vl')).toEqual([
      { corners: [1, 2, 300, 400], label: 'a cat' },
      { corners: [5, 6, 7, 8] },
      { corners: [900, 10, 999, 999], label: 'a dog' },
    ]);
  });

  it('skips malformed boxes: unclosed, missing numbers, not numbers, plain text', () => {
    expect(parseGroundingAnswer('<|box_start|>(12,34),(456,789)', 'qwen2-vl')).toEqual([]);
    expect(parseGroundingAnswer('<|box_start|>(12,34),(456)<|box_end|>', 'qwen2-vl')).toEqual([]);
    expect(parseGroundingAnswer('<|box_start|>(1.2.3,4),(5,6)<|box_end|>', 'qwen2-vl')).toEqual([]);
    expect(parseGroundingAnswer('<|box_start|>(a,b),(c,d)<|box_end|>', 'qwen2-vl')).toEqual([]);
    expect(parseGroundingAnswer('(12,34),(456,789)', 'qwen2-vl')).toEqual([]);
    expect(parseGroundingAnswer('I cannot see it.', 'qwen2-vl')).toEqual([]);
    // a good box after a broken one is still read
    expect(parseGroundingAnswer('<|box_start|>(1,2)<|box_end|><|box_start|>(1,2),(3,4)<|box_end|>', 'qwen2-vl')).toEqual([{ corners: [1, 2, 3, 4] }]);
  });
});

describe('parseGroundingAnswer: Qwen2.5-VL bbox_2d JSON', () => {
  it('reads a fenced list of objects, with labels', () => {
    const answer = '```json\n[\n\t{"bbox_2d": [10, 20, 30, 40], "label": "red square"},\n\t{"bbox_2d": [50, 60, 70, 80], "label": "blue circle"}\n]\n```';
    expect(parseGroundingAnswer(answer, 'qwen2.5-vl')).toEqual([
      { corners: [10, 20, 30, 40], label: 'red square' },
      { corners: [50, 60, 70, 80], label: 'blue circle' },
    ]);
  });

  it('reads one bare object, and the complete objects of an answer cut short', () => {
    expect(parseGroundingAnswer('{"bbox_2d": [1, 2, 3, 4]}', 'qwen2.5-vl')).toEqual([{ corners: [1, 2, 3, 4] }]);
    expect(parseGroundingAnswer('```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6', 'qwen2.5-vl')).toEqual([{ corners: [1, 2, 3, 4], label: 'a' }]);
  });

  it('reads Qwen2-VL box tokens when a Qwen2.5-VL model writes those', () => {
    expect(parseGroundingAnswer('<|box_start|>(1,2),(3,4)<|box_end|>', 'qwen2.5-vl')).toEqual([{ corners: [1, 2, 3, 4] }]);
  });

  it('skips malformed entries: three numbers, strings, no bbox_2d, broken JSON', () => {
    expect(parseGroundingAnswer('[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": ["1", 2, 3, 4]}, {"point_2d": [1, 2]}, 7]', 'qwen2.5-vl')).toEqual([]);
    expect(parseGroundingAnswer('```json\n[{"bbox_2d": [1, 2, ', 'qwen2.5-vl')).toEqual([]);
    expect(parseGroundingAnswer('no boxes here', 'qwen2.5-vl')).toEqual([]);
  });

  it('closes the JSON object of an answer that stopped after its bbox_2d list (constrained answers)', () => {
    const prefix = '```json\n[\n\t{"bbox_2d": [';
    expect(parseAnswer(prefix, '12, 34, 56, 78]', 'qwen2.5-vl')).toEqual([{ corners: [12, 34, 56, 78] }]);
    expect(parseAnswer(prefix, '12,34,56,78], "label": "cat"}\n]\n```', 'qwen2.5-vl')).toEqual([{ corners: [12, 34, 56, 78], label: 'cat' }]);
    expect(parseAnswer(prefix, '12, 34, 56', 'qwen2.5-vl')).toEqual([]);
  });
});

describe('parseGroundingAnswer: plain text', () => {
  it('reads every (x1,y1),(x2,y2), decimals and spaces allowed', () => {
    expect(parseGroundingAnswer('(1,2),(3,4) and ( 5.5 , 6 ),(7,8)', 'plain')).toEqual([{ corners: [1, 2, 3, 4] }, { corners: [5.5, 6, 7, 8] }]);
  });

  it('skips malformed text', () => {
    expect(parseGroundingAnswer('(1,2),(3,', 'plain')).toEqual([]);
    expect(parseGroundingAnswer('(1,2)', 'plain')).toEqual([]);
    expect(parseGroundingAnswer('(1,2),3,4)', 'plain')).toEqual([]);
    expect(parseGroundingAnswer('aaaa', 'plain')).toEqual([]);
  });
});

describe('answeredBoxToImage: coordinates to original-image pixels (clamp, swap, reject)', () => {
  it('maps [0, 1000) coordinates by the original size (qwen2-vl and plain)', () => {
    const img = image(640, 480, 17, 23);
    expect(answeredBoxToImage({ corners: [250, 500, 750, 1000] }, 'qwen2-vl', img)).toEqual({ x: 160, y: 240, width: 320, height: 240 });
    expect(answeredBoxToImage({ corners: [250, 500, 750, 1000] }, 'plain', img)).toEqual({ x: 160, y: 240, width: 320, height: 240 });
  });

  it('maps Qwen2.5-VL pixels of the resized image (merged grid x 28) to the original image', () => {
    // 640 x 480 -> 23 x 17 merged tokens -> 644 x 476 resized pixels
    const img = image(640, 480, 17, 23);
    expect(qwenResizedSize(img)).toEqual({ width: 644, height: 476 });
    const box = answeredBoxToImage({ corners: [161, 119, 322, 357] }, 'qwen2.5-vl', img)!;
    expect(box.x).toBeCloseTo((161 * 640) / 644, 10);
    expect(box.y).toBeCloseTo((119 * 480) / 476, 10);
    expect(box.width).toBeCloseTo((161 * 640) / 644, 10);
    expect(box.height).toBeCloseTo((238 * 480) / 476, 10);
    expect(answeredBoxToImage({ corners: [0, 0, 644, 476] }, 'qwen2.5-vl', img)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
  });

  it('swaps reversed corners', () => {
    const img = image(1000, 500, 18, 36);
    expect(answeredBoxToImage({ corners: [750, 1000, 250, 500] }, 'qwen2-vl', img)).toEqual({ x: 250, y: 250, width: 500, height: 250 });
  });

  it('clamps out-of-range coordinates to the coordinate space', () => {
    const img = image(1000, 500, 18, 36);
    expect(answeredBoxToImage({ corners: [-10, 0, 1200, 1000] }, 'qwen2-vl', img)).toEqual({ x: 0, y: 0, width: 1000, height: 500 });
    expect(answeredBoxToImage({ corners: [900, 900, 5000, 5000] }, 'plain', img)).toEqual({ x: 900, y: 450, width: 100, height: 50 });
    expect(answeredBoxToImage({ corners: [-50, -50, 2000, 2000] }, 'qwen2.5-vl', img)).toEqual({ x: 0, y: 0, width: 1000, height: 500 });
  });

  it('rejects boxes without area: equal corners, or wholly outside the image', () => {
    const img = image(640, 480, 17, 23);
    expect(answeredBoxToImage({ corners: [100, 100, 100, 300] }, 'qwen2-vl', img)).toBeUndefined();
    expect(answeredBoxToImage({ corners: [100, 200, 300, 200] }, 'plain', img)).toBeUndefined();
    expect(answeredBoxToImage({ corners: [1100, 1100, 1500, 1500] }, 'qwen2-vl', img)).toBeUndefined();
    expect(answeredBoxToImage({ corners: [-30, 10, -5, 20] }, 'qwen2-vl', img)).toBeUndefined();
    expect(answeredBoxToImage({ corners: [700, 0, 900, 100] }, 'qwen2.5-vl', img)).toBeUndefined();
  });
});
