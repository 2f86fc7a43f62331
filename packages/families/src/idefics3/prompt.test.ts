import { describe, expect, it } from 'vitest';
import { ModelConfigError, PromptError } from '@icot/core';
import { expandIdefics3Prompt, idefics3ImagePromptText, idefics3ImageTokens, readIdefics3SpecialTokens } from './prompt.js';

/** A toy tokenizer: special tokens by text, "\n\n" one merged token, any other character its code. */
const SPECIALS = ['<fake_token_around_image>', '<image>', '<global-img>', '<end_of_utterance>'];
for (let r = 1; r <= 3; r++) for (let c = 1; c <= 3; c++) SPECIALS.push(`<row_${r}_col_${c}>`);
const specialId = (text: string): number | undefined => (SPECIALS.includes(text) ? 1000 + SPECIALS.indexOf(text) : undefined);
const encodeText = (text: string): number[] => text.split(/(\n\n)/).flatMap((part) => (part === '\n\n' ? [999] : Array.from(part, (ch) => ch.charCodeAt(0))));
function tokenize(text: string): number[] {
  const pattern = new RegExp(SPECIALS.map((s) => s.replace(/[|[\]]/g, '\\$&')).join('|'), 'g');
  const ids: number[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    ids.push(...encodeText(text.slice(last, match.index)), specialId(match[0])!);
    last = match.index + match[0].length;
  }
  return [...ids, ...encodeText(text.slice(last))];
}
const tokens = readIdefics3SpecialTokens(specialId, encodeText);
const IMAGE = specialId('<image>')!;

describe('Idefics3 prompt layout', () => {
  it('writes the text of get_image_prompt_string: rows of tiles with separators, newlines, then the global image', () => {
    const two = '<image><image>';
    expect(idefics3ImagePromptText({ rows: 2, cols: 2 }, 2)).toBe(
      `<fake_token_around_image><row_1_col_1>${two}<fake_token_around_image><row_1_col_2>${two}\n` +
        `<fake_token_around_image><row_2_col_1>${two}<fake_token_around_image><row_2_col_2>${two}\n` +
        `\n<fake_token_around_image><global-img>${two}<fake_token_around_image>`,
    );
    expect(idefics3ImagePromptText({ rows: 0, cols: 0 }, 3)).toBe('<fake_token_around_image><global-img><image><image><image><fake_token_around_image>');
  });

  it('gives the ids of tokenizing that text, with the index of every image token', () => {
    for (const grid of [{ rows: 2, cols: 3 }, { rows: 3, cols: 1 }, { rows: 1, cols: 2 }, { rows: 0, cols: 0 }]) {
      const image = idefics3ImageTokens(grid, 4, tokens);
      expect(image.ids).toEqual(tokenize(idefics3ImagePromptText(grid, 4)));
      const frames = grid.rows * grid.cols + 1;
      expect(image.imageTokenIndices).toHaveLength(frames * 4);
      expect(image.imageTokenIndices.every((i) => image.ids[i] === IMAGE)).toBe(true);
      expect(image.ids.filter((id) => id === IMAGE)).toHaveLength(frames * 4);
    }
    const runs = idefics3ImageTokens({ rows: 1, cols: 2 }, 2, tokens).runs;
    const F = specialId('<fake_token_around_image>')!;
    expect(runs).toEqual([
      { kind: 'text', ids: [F, specialId('<row_1_col_1>')] },
      { kind: 'frame', frame: 0 },
      { kind: 'text', ids: [F, specialId('<row_1_col_2>')] },
      { kind: 'frame', frame: 1 },
      { kind: 'text', ids: [999, F, specialId('<global-img>')] },
      { kind: 'frame', frame: 2 },
      { kind: 'text', ids: [F] },
    ]);
    // tile (0, 1) of a 2x3 grid: fake, row_1_col_1, 4 images, fake, row_1_col_2, then its images
    expect(idefics3ImageTokens({ rows: 2, cols: 3 }, 4, tokens).imageTokenIndices.slice(4, 6)).toEqual([8, 9]);
  });

  it('expands each <image> placeholder of a tokenized prompt and maps image tokens to cache positions', () => {
    const prompt = tokenize('<|im_start|>User:<image>Hi<image><end_of_utterance>\nAssistant:');
    const grids = [{ rows: 1, cols: 2 }, { rows: 0, cols: 0 }];
    const expanded = expandIdefics3Prompt(prompt, grids, 2, tokens);
    expect(expanded.ids).toEqual(tokenize(`<|im_start|>User:${idefics3ImagePromptText(grids[0]!, 2)}Hi${idefics3ImagePromptText(grids[1]!, 2)}<end_of_utterance>\nAssistant:`));
    expect(expanded.imageTokenPositions.map((p) => p.length)).toEqual([6, 2]);
    const start = '<|im_start|>User:'.length;
    expect(expanded.imageTokenPositions[0]!.slice(0, 3)).toEqual([start + 2, start + 3, start + 6]);
    for (const positions of expanded.imageTokenPositions) for (const p of positions) expect(expanded.ids[p]).toBe(IMAGE);
  });

  it('reports mismatched placeholders, expanded prompts and missing tokens', () => {
    const prompt = tokenize('a<image>b');
    expect(() => expandIdefics3Prompt(prompt, [], 2, tokens)).toThrow(PromptError);
    expect(() => expandIdefics3Prompt(prompt, [{ rows: 0, cols: 0 }, { rows: 0, cols: 0 }], 2, tokens)).toThrow(/1 <image> placeholder/);
    expect(() => expandIdefics3Prompt([IMAGE, IMAGE], [{ rows: 0, cols: 0 }], 2, tokens)).toThrow(/one <image> placeholder per image/);
    expect(() => idefics3ImageTokens({ rows: 4, cols: 1 }, 2, tokens)).toThrow(/<row_4_col_1>/);
    expect(() => readIdefics3SpecialTokens((t) => (t === '<global-img>' ? undefined : specialId(t)), encodeText)).toThrow(ModelConfigError);
    expect(tokens.rowCol).toHaveLength(3);
    expect(tokens.doubleNewline).toEqual([999]);
  });
});
