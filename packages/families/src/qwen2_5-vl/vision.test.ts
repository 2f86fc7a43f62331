import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '@icot/core';
import { qwen25VlWindowIndex, readQwen25VlVisionConfig } from './vision.js';

const published = { patchSize: 14, spatialMergeSize: 2, windowSize: 112 }; // 4 x 4 merged tokens per window

describe('qwen25VlWindowIndex (transformers get_window_index)', () => {
  it('cuts a 6 x 10 merged grid into 4 x 4 windows from the top left, partial at the edges', () => {
    const { order, windowLengths, windowOf } = qwen25VlWindowIndex([[1, 12, 20]], published);
    expect(windowLengths).toEqual([16, 16, 8, 8, 8, 4]);
    expect(Array.from(order.subarray(0, 5))).toEqual([0, 1, 2, 3, 10]);
    expect(Array.from(order.subarray(32, 40))).toEqual([8, 9, 18, 19, 28, 29, 38, 39]); // window (0, 2): cols 8-9
    expect(Array.from(order.subarray(56))).toEqual([48, 49, 58, 59]); // window (1, 2)
    expect(windowOf[59]).toBe(5);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('gives a grid that windows divide exactly no empty windows, and numbers later images after earlier ones', () => {
    const { order, windowLengths } = qwen25VlWindowIndex([[1, 16, 16], [1, 4, 6]], published);
    expect(windowLengths).toEqual([16, 16, 16, 16, 6]);
    expect(Array.from(order.subarray(64))).toEqual([64, 65, 66, 67, 68, 69]);
  });

  it('keeps frames of a video apart', () => {
    expect(qwen25VlWindowIndex([[2, 4, 4]], published).windowLengths).toEqual([4, 4]);
  });
});

describe('readQwen25VlVisionConfig', () => {
  it('reads the published fields and transformers defaults', () => {
    const config = readQwen25VlVisionConfig({ vision_config: { window_size: 112, fullatt_block_indexes: [7, 15, 23, 31], tokens_per_second: 2, out_hidden_size: 2048 } });
    expect(config).toEqual({ patchSize: 14, spatialMergeSize: 2, temporalPatchSize: 2, windowSize: 112, fullattBlockIndexes: [7, 15, 23, 31], tokensPerSecond: 2, outHiddenSize: 2048 });
    expect(() => readQwen25VlVisionConfig({ vision_config: { window_size: 'big' } })).toThrow(ModelConfigError);
    expect(() => qwen25VlWindowIndex([[1, 4, 4]], { ...published, windowSize: 14 })).toThrow(/window_size 14/);
  });
});
