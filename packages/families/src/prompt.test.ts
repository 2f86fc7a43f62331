import { describe, expect, it } from 'vitest';
import { PromptError, type Box, type EncodedImage, type PromptInput } from '@icot/core';
import { createToyFamily, createToyModel } from '@icot/core/test';
import { preparePromptWithFamily } from './prompt.js';

// The region syntax through the shared prompt preparation, on the toy family (an image is its
// patch tokens) with images whose crop is the sub-grid, as single-grid images of real families do.

/** A single-grid encoded image of `rows x cols` patches of 10 px; `crop` gives the sub-grid. */
function gridImage(rows: number, cols: number, origin = { row: 0, col: 0 }): EncodedImage {
  return {
    grid: { rows, cols },
    patchCount: rows * cols,
    size: { width: cols * 10, height: rows * 10 },
    patchBox: (i: number): Box => ({ x: (origin.col + (i % cols)) * 10, y: (origin.row + Math.floor(i / cols)) * 10, width: 10, height: 10 }),
    crop: (r: readonly [number, number], c: readonly [number, number]) => gridImage(r[1] - r[0] + 1, c[1] - c[0] + 1, { row: origin.row + r[0], col: origin.col + c[0] }),
  };
}

const family = createToyFamily();
const { tokenizer } = createToyModel();
const query = gridImage(4, 4);
const demo = gridImage(3, 5);
const prepare = (text: string, images: readonly EncodedImage[] = [query, demo], input?: Partial<PromptInput>) =>
  Promise.resolve().then(() => preparePromptWithFamily(family, tokenizer, () => '', { text, images, ...input } as PromptInput));

/** The PromptError preparing `text` throws. */
async function refusal(text: string, images?: readonly EncodedImage[]): Promise<PromptError> {
  const error = await prepare(text, images).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PromptError);
  return error as PromptError;
}

describe('region tags', () => {
  it('expand a well-formed tag to the cropped grid, in any attribute order, a single row or column as one number', async () => {
    for (const tag of ['<region image=2 rows=1-2 cols=0-3>', '<region cols=0-3 image=2 rows=1-2 >', '<region  image=2\trows=1-2 cols=0-3>']) {
      const prompt = await prepare(`see ${tag} then <image>.`);
      expect(prompt.images.map((i) => [i.region ?? false, i.image.grid])).toEqual([
        [true, { rows: 2, cols: 4 }],
        [false, { rows: 4, cols: 4 }],
      ]);
      expect(prompt.images[0]!.image.patchBox(0)).toEqual({ x: 0, y: 10, width: 10, height: 10 });
    }
    const single = await prepare('see <region image=2 rows=2 cols=4> then <image>.');
    expect(single.images[0]!.image.grid).toEqual({ rows: 1, cols: 1 });
    expect(single.images[0]!.image.patchBox(0)).toEqual({ x: 40, y: 20, width: 10, height: 10 });
  });

  it('leave text that only looks similar alone', async () => {
    const prompt = await prepare('regions <regional> <region_x> <image>', [query]);
    expect(prompt.images).toHaveLength(1);
  });

  const form = /Write a region as <region image=N rows=A-B cols=C-D>/;
  const malformed: readonly [what: string, tag: string, message: RegExp][] = [
    ['no attributes', '<region>', /"<region>" misses image=, rows= and cols=/],
    ['a missing attribute', '<region image=2 rows=0-1>', /"<region image=2 rows=0-1>" misses cols=/],
    ['an unknown attribute', '<region image=2 rows=0-1 cols=0-1 tile=1>', /has 'tile=1', which is not one of its attributes/],
    ['an attribute without a value', '<region image 2 rows=0-1 cols=0-1>', /has 'image', which is not one of its attributes/],
    ['a repeated attribute', '<region image=2 rows=0-1 rows=1-2 cols=0-1>', /gives rows= twice/],
    ['image 0', '<region image=0 rows=0-1 cols=0-1>', /has image=0, not an image number/],
    ['an image that is not a number', '<region image=two rows=0-1 cols=0-1>', /has image=two, not an image number/],
    ['a reversed range', '<region image=2 rows=2-1 cols=0-1>', /has rows=2-1, whose first row comes after its last/],
    ['a negative range', '<region image=2 rows=0-1 cols=-1-2>', /has cols=-1-2, not a range of grid cols/],
    ['a range that is not numbers', '<region image=2 rows=A-B cols=0-1>', /has rows=A-B, not a range of grid rows/],
    ['upper case', '<Region image=2 rows=0-1 cols=0-1>', /is not written in lower case/],
  ];
  for (const [what, tag, message] of malformed)
    it(`refuse ${what}, naming the tag and the correct form`, async () => {
      const error = await refusal(`see ${tag} then <image>.`);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(JSON.stringify(tag));
      expect(error.hint).toMatch(form);
    });

  it('refuse an unclosed tag, at the end of the text or before the next tag or line', async () => {
    for (const [text, tag] of [
      ['see <region image=2 rows=0-1 cols=0-1', '<region image=2 rows=0-1 cols=0-1'],
      ['see <region image=2 rows=0-1 cols=0-1 <image>', '<region image=2 rows=0-1 cols=0-1'],
      ['see <region image=2 rows=0-1\ncols=0-1> <image>', '<region image=2 rows=0-1'],
    ] as const) {
      const error = await refusal(text);
      expect(error.message).toBe(`The region tag ${JSON.stringify(tag)} has no closing '>'.`);
      expect(error.hint).toMatch(form);
    }
  });

  it("refuse rows or columns outside the image's grid, naming the grid", async () => {
    const rows = await refusal('see <region image=2 rows=0-3 cols=0-1> then <image>.');
    expect(rows.message).toBe('The region tag "<region image=2 rows=0-3 cols=0-1>" is outside image 2\'s 3x5 patch grid.');
    expect(rows.hint).toMatch(/rows within 0-2 and cols within 0-4, e\.g\. <region image=2 rows=0-2 cols=0-4>/);
    await expect(prepare('see <region image=2 rows=0 cols=5> then <image>.')).rejects.toThrow(/outside image 2's 3x5 patch grid/);
  });

  it('refuse an image number beyond the images given', async () => {
    const error = await refusal('see <region image=3 rows=0-1 cols=0-1> then <image>.');
    expect(error.message).toBe('The region tag "<region image=3 rows=0-1 cols=0-1>" refers to image 3, but 2 image(s) were given.');
    expect(error.hint).toMatch(/Number images from 1/);
  });

  it('refuse a region of an image that cannot be cropped (e.g. a tiled one)', async () => {
    const { crop: _crop, ...uncroppable } = demo;
    const error = await refusal('see <region image=2 rows=0-1 cols=0-1> then <image>.', [query, uncroppable]);
    expect(error.message).toMatch(/cannot be cropped to regions/);
  });
});
