import { describe, expect, it } from 'vitest';
import { PromptError, type EncodedImage, type InputSegment } from '@icot/core';
import { describeIdefics3 } from '../describe.js';
import { TiledFeatureImage } from '../tiled-feature-image.js';
import { createIdefics3Family, idefics3TileGrid } from './family.js';
import { idefics3Tiles } from './layout.js';
import { expandIdefics3Prompt, readIdefics3SpecialTokens } from './prompt.js';

// A toy tokenizer: special tokens by text (ids from 1000), "\n\n" one token (999), other characters their code.
const SPECIALS = ['<fake_token_around_image>', '<image>', '<global-img>', '<end_of_utterance>'];
for (let r = 1; r <= 3; r++) for (let c = 1; c <= 3; c++) SPECIALS.push(`<row_${r}_col_${c}>`);
const tokenToId = (text: string): number | undefined => (SPECIALS.includes(text) ? 1000 + SPECIALS.indexOf(text) : undefined);
const encode = (text: string): number[] => text.split(/(\n\n)/).flatMap((part) => (part === '\n\n' ? [999] : Array.from(part, (ch) => ch.charCodeAt(0))));
const tokens = readIdefics3SpecialTokens(tokenToId, encode);
const FAKE = tokenToId('<fake_token_around_image>')!;
const IMAGE = tokenToId('<image>')!;
const L = 4; // image tokens per frame (2 x 2)
const family = createIdefics3Family({ tokens, imageSeqLen: L });

/** An encoded image of `grid` tiles (+ global) over a 300 x 200 picture, as the assembly builds it. */
function tiledImage(grid: { rows: number; cols: number }): TiledFeatureImage {
  const frameCount = grid.rows * grid.cols + 1 || 1;
  const split = grid.rows > 0;
  const plan = {
    size: { width: 300, height: 200 },
    resized: { width: 300, height: 200 },
    encoderSize: split ? { width: 64 * grid.cols, height: 64 * grid.rows } : { width: 64, height: 64 },
    grid,
    tileSize: 64,
    frameCount: split ? frameCount : 1,
  };
  const tiles = idefics3Tiles(plan, 2);
  const patches = tiles.length * L;
  return new TiledFeatureImage(new Float32Array(patches * 3).map((_, i) => i), 3, tiles, plan.size);
}

/** The ids a prompt's segments feed, image tokens written as `<image>`. */
const fed = (segments: readonly InputSegment[]): number[] => segments.flatMap((s) => (s.type === 'tokens' ? [...s.ids] : (s.patches ?? []).map(() => IMAGE)));

describe('the Idefics3 family', () => {
  const prompt = [1, 2, ...encode('User:'), IMAGE, ...encode('Hi'), IMAGE, 3];

  it('expands each placeholder to the processor layout, one image segment per frame, with the patch map of expandIdefics3Prompt', () => {
    const images = [tiledImage({ rows: 2, cols: 3 }), tiledImage({ rows: 0, cols: 0 })];
    const expanded = family.expandPrompt(prompt, images);
    const reference = expandIdefics3Prompt(prompt, [{ rows: 2, cols: 3 }, { rows: 0, cols: 0 }], L, tokens);
    expect(fed(expanded.segments)).toEqual(reference.ids);
    expect(expanded.images.map((i) => Array.from(i.cacheIndices))).toEqual(reference.imageTokenPositions);
    expect(expanded.images.map((i) => i.image)).toEqual(images);
    // 7 frames, then 1 frame: each an image segment of its own patches, in order
    const frames = expanded.segments.filter((s) => s.type === 'image');
    expect(frames.map((s) => (s.type === 'image' ? [s.image === images[0], s.patches![0]] : []))).toEqual([
      ...Array.from({ length: 7 }, (_, f) => [true, f * L]),
      [false, 0],
    ]);
    expect(expanded.textTokenIds).toEqual(reference.ids.filter((id) => id !== IMAGE));
    // the patch map is not one run: a separator pair between tile 0 and tile 1
    const map = expanded.images[0]!.cacheIndices;
    expect(map[L]! - map[L - 1]!).toBe(3);
  });

  it('has 1-D positions and the official defaults of LLaVA-class families', () => {
    const expanded = family.expandPrompt(prompt, [tiledImage({ rows: 1, cols: 2 }), tiledImage({ rows: 0, cols: 0 })]);
    const { positions, nextPosition } = family.promptPositions(expanded.segments);
    expect(positions.axes).toBe(1);
    expect(Array.from(positions.data)).toEqual(Array.from({ length: nextPosition }, (_, i) => i));
    expect(Array.from(family.textPositions(40, 3).data)).toEqual([40, 41, 42]);
    expect(family.defaults).toEqual({ k: 16, insertAfterPrompt: false, excludeSelected: false });
    expect(family.positionAxes).toBe(1);
  });

  it('grid layout: <fake_token_around_image> + the selected features + <fake_token_around_image> at the next positions', () => {
    const image = tiledImage({ rows: 2, cols: 2 });
    const block = family.insertionBlock({ image, patches: [1, 6, 17], start: 50, layout: 'grid' });
    expect(block.segments).toEqual([
      { type: 'tokens', ids: [FAKE] },
      { type: 'image', image, patches: [1, 6, 17] },
      { type: 'tokens', ids: [FAKE] },
    ]);
    expect(Array.from(block.positions.data)).toEqual([50, 51, 52, 53, 54]);
    expect(block.nextPosition).toBe(55);
  });

  it("source layout: the patches grouped by frame, each group after its frame's separator as in the prompt", () => {
    const image = tiledImage({ rows: 2, cols: 2 });
    // patches 17 (global), 6 (tile 1 = row 1 col 2), 1 and 2 (tile 0), 13 (tile 3 = row 2 col 2)
    const block = family.insertionBlock({ image, patches: [17, 6, 1, 13, 2], start: 10, layout: 'source' });
    expect(block.segments).toEqual([
      { type: 'tokens', ids: [FAKE, tokenToId('<row_1_col_1>')] },
      { type: 'image', image, patches: [1, 2] },
      { type: 'tokens', ids: [FAKE, tokenToId('<row_1_col_2>')] },
      { type: 'image', image, patches: [6] },
      { type: 'tokens', ids: [FAKE, tokenToId('<row_2_col_2>')] },
      { type: 'image', image, patches: [13] },
      { type: 'tokens', ids: [FAKE, tokenToId('<global-img>')] },
      { type: 'image', image, patches: [17] },
      { type: 'tokens', ids: [FAKE] },
    ]);
    expect(block.nextPosition).toBe(10 + 8 + 5 + 1);
  });

  it('refuses images another model encoded, mismatched placeholders and expanded prompts', () => {
    const single: EncodedImage = { grid: { rows: 2, cols: 2 }, patchCount: 4, size: { width: 10, height: 10 }, patchBox: () => ({ x: 0, y: 0, width: 1, height: 1 }) };
    expect(() => family.expandPrompt(prompt, [single, single])).toThrow(PromptError);
    expect(() => idefics3TileGrid(tiledImage({ rows: 1, cols: 2 }), 9)).toThrow(/not an Idefics3 tiling/);
    expect(() => family.expandPrompt(prompt, [tiledImage({ rows: 0, cols: 0 })])).toThrow(/more <image> placeholders/);
    expect(() => family.expandPrompt([IMAGE, IMAGE], [tiledImage({ rows: 0, cols: 0 })])).toThrow(/one <image> placeholder per image/);
  });
});

describe('describeIdefics3', () => {
  const config = {
    model_type: 'idefics3',
    image_token_id: IMAGE,
    scale_factor: 2,
    vision_config: { image_size: 32, patch_size: 8 },
    text_config: { hidden_size: 48, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 1100, rope_theta: 100000 },
  };

  it('reads the text sizes from text_config, the image tokens from the tokenizer, image_seq_len from the config', () => {
    const d = describeIdefics3(config, { eos_token_id: 1003 }, () => undefined, { tokenizer: { encode, tokenToId }, processorConfig: { image_seq_len: 4 } });
    expect(d).toMatchObject({ modelType: 'idefics3', hiddenSize: 48, numKeyValueHeads: 2, headDim: 12, vocabSize: 1100, eosTokenIds: [1003], spatialMergeSize: 1 });
    expect(d.rope).toEqual({ theta: 100000, headDim: 12, rotaryDim: 12, layout: 'half' });
    expect(d.family.name).toBe('idefics3');
    expect(d.family.imagePlaceholder).toBe('<image>');
    expect(fed(d.family.insertionBlock({ image: tiledImage({ rows: 0, cols: 0 }), patches: [0], start: 0, layout: 'grid' }).segments)).toEqual([FAKE, IMAGE, FAKE]);
  });

  it('names what disagrees: image_seq_len, image_token_id', () => {
    const context = { tokenizer: { encode, tokenToId } };
    expect(() => describeIdefics3(config, {}, () => undefined, { ...context, processorConfig: { image_seq_len: 64 } })).toThrow(/image_seq_len 64/);
    expect(() => describeIdefics3({ ...config, image_token_id: 5 }, {}, () => undefined, context)).toThrow(/image_token_id 5/);
  });
});
