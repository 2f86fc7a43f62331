import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PromptError, type EncodedImage } from '@icot/core';
import { fixturePath, loadOracle } from '@icot/testing';
import { gridPatchBox } from '../grid.js';
import { readQwen2VlConfig } from './config.js';
import { createQwen2VlFamily } from './family.js';

const oracle = loadOracle('tiny-qwen2-vl');
const config = readQwen2VlConfig(JSON.parse(readFileSync(fixturePath('tiny-qwen2-vl', 'config.json'), 'utf8')));
const family = createQwen2VlFamily(config);

function image(rows: number, cols: number): EncodedImage {
  const size = { width: cols * 28, height: rows * 28 };
  return { grid: { rows, cols }, patchCount: rows * cols, size, patchBox: (i) => gridPatchBox(i, { rows, cols }, size) };
}

function rows(p: { axes: number; length: number; data: Int32Array }): number[][] {
  return Array.from({ length: p.axes }, (_, a) => Array.from(p.data.subarray(a * p.length, (a + 1) * p.length)));
}

describe('readQwen2VlConfig', () => {
  it('reads special tokens and M-RoPE from the config, never hard-coded', () => {
    expect(config).toMatchObject({ visionStartTokenId: 483, visionEndTokenId: 484, imageTokenId: 486, mropeSection: [2, 3, 3], numLayers: 2, numKeyValueHeads: 2, headDim: 16 });
  });

  it('reads nested text_config (transformers 5 layout) too', () => {
    const nested = readQwen2VlConfig({
      model_type: 'qwen2_vl',
      vision_start_token_id: 1,
      vision_end_token_id: 2,
      image_token_id: 3,
      text_config: { hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 10, rope_parameters: { mrope_section: [1, 1, 2], rope_theta: 5 } },
    });
    expect(nested).toMatchObject({ imageTokenId: 3, hiddenSize: 8, ropeTheta: 5, mropeSection: [1, 1, 2], headDim: 4 });
  });

  it('names the missing field', () => {
    expect(() => readQwen2VlConfig({ model_type: 'qwen2_vl' })).toThrow(/mrope_section/);
  });
});

describe('Qwen2-VL family', () => {
  it('expands the oracle prompt and computes its M-RoPE positions exactly', () => {
    const ids = oracle.input_ids.filter((id, i) => id !== config.imageTokenId || oracle.input_ids[i - 1] !== config.imageTokenId);
    const img = image(8, 8);
    const expanded = family.expandPrompt(ids, [img]);
    expect(expanded.images[0]!.cacheIndices[0]).toBe(oracle.query_image_span[0]);
    expect(expanded.images[0]!.cacheIndices.at(-1)).toBe(oracle.query_image_span[1] - 1);
    const { positions, nextPosition } = family.promptPositions(expanded.segments);
    expect(rows(positions)).toEqual(oracle.position_ids);
    expect(nextPosition).toBe(Math.max(...oracle.position_ids!.flat()) + 1);
  });

  it('accepts an already expanded image (one placeholder per patch)', () => {
    const expanded = family.expandPrompt(oracle.input_ids, [image(8, 8)]);
    expect(expanded.images[0]!.cacheIndices[0]).toBe(35);
  });

  it('builds the official insertion block: the oracle block positions', () => {
    for (const event of oracle.events) {
      const p0 = event.block_positions![0]![0]!;
      const block = family.insertionBlock({ image: image(8, 8), patches: event.selected, start: p0, layout: 'grid' });
      expect(rows(block.positions)).toEqual(event.block_positions);
      expect(block.nextPosition).toBe(p0 + Math.ceil(Math.sqrt(event.selected.length)) + 2);
      expect(block.segments[0]).toEqual({ type: 'tokens', ids: [config.visionStartTokenId] });
      expect(block.segments[2]).toEqual({ type: 'tokens', ids: [config.visionEndTokenId] });
    }
  });

  it('source layout keeps the row/column relation of the patches', () => {
    // patches (0,1), (0,3), (2,2) of an 8-column grid
    const block = family.insertionBlock({ image: image(8, 8), patches: [1, 3, 18], start: 100, layout: 'source' });
    const [t, h, w] = rows(block.positions);
    expect(t).toEqual([100, 101, 101, 101, 104]);
    expect(h).toEqual([100, 101, 101, 103, 104]);
    expect(w).toEqual([100, 101, 103, 102, 104]);
    expect(block.nextPosition).toBe(105);
  });

  it('reports a prompt without a placeholder, or with more placeholders than images', () => {
    expect(() => family.expandPrompt([1, 2, 3], [image(2, 2)])).toThrow(PromptError);
    expect(() => family.expandPrompt([486, 5, 486], [image(2, 2)])).toThrow(PromptError);
    expect(() => family.expandPrompt([486, 486, 486], [image(2, 2)])).toThrow(/3 placeholder tokens/);
  });
});
