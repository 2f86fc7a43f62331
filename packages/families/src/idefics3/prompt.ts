import { ModelConfigError, PromptError, type PatchGrid } from '@icot/core';

/** Texts of the Idefics3 / SmolVLM image tokens (transformers' Idefics3Processor / SmolVLMProcessor defaults). */
export const IDEFICS3_TOKEN_TEXT = {
  fakeTokenAroundImage: '<fake_token_around_image>',
  image: '<image>',
  globalImage: '<global-img>',
  endOfUtterance: '<end_of_utterance>',
} as const;

/** The text of the separator token before tile (`row`, `col`), both 0-based: `<row_{row+1}_col_{col+1}>`. */
export function idefics3RowColText(row: number, col: number): string {
  return `<row_${row + 1}_col_${col + 1}>`;
}

/** Token ids an Idefics3 / SmolVLM image expands to, read from the tokenizer (never hard-coded). */
export interface Idefics3SpecialTokens {
  readonly fakeTokenAroundImage: number;
  readonly image: number;
  readonly globalImage: number;
  /** `rowCol[r][c]`: id of `<row_{r+1}_col_{c+1}>`, for every row and column the tokenizer has. */
  readonly rowCol: readonly (readonly number[])[];
  /** Ids of `"\n"` (ends every tile row but the last). */
  readonly newline: readonly number[];
  /** Ids of `"\n\n"` (the last tile row's newline and the one before the global image, tokenized together). */
  readonly doubleNewline: readonly number[];
}

/**
 * Read the image tokens from a tokenizer: `tokenToId` maps a token's text to its id (undefined when
 * absent), `encodeText` tokenizes plain text without special tokens (for the newlines, whose ids
 * depend on the tokenizer's merges). Row/column tokens are read for rows and columns 1, 2, ... while
 * the tokenizer has them (SmolVLM's has 1-6). Throws {@link ModelConfigError} for a missing token.
 */
export function readIdefics3SpecialTokens(tokenToId: (text: string) => number | undefined, encodeText: (text: string) => readonly number[]): Idefics3SpecialTokens {
  const need = (text: string): number => {
    const id = tokenToId(text);
    if (id === undefined)
      throw new ModelConfigError(`The tokenizer has no '${text}' token, which Idefics3 / SmolVLM prompts need.`, {
        hint: 'Use the tokenizer.json that belongs to this SmolVLM / Idefics3 export.',
      });
    return id;
  };
  const rowCol: number[][] = [];
  for (let r = 0; tokenToId(idefics3RowColText(r, 0)) !== undefined; r++) {
    const row: number[] = [];
    for (let c = 0; ; c++) {
      const id = tokenToId(idefics3RowColText(r, c));
      if (id === undefined) break;
      row.push(id);
    }
    rowCol.push(row);
  }
  return {
    fakeTokenAroundImage: need(IDEFICS3_TOKEN_TEXT.fakeTokenAroundImage),
    image: need(IDEFICS3_TOKEN_TEXT.image),
    globalImage: need(IDEFICS3_TOKEN_TEXT.globalImage),
    rowCol,
    newline: [...encodeText('\n')],
    doubleNewline: [...encodeText('\n\n')],
  };
}

/**
 * The text an `<image>` placeholder becomes, exactly as transformers' `get_image_prompt_string`
 * (processing_smolvlm.py / processing_idefics3.py) writes it. Split (`grid` rows x cols > 0): for
 * each tile row, for each tile `<fake_token_around_image><row_r_col_c>` + `<image>` x imageSeqLen,
 * then `"\n"`; then `"\n<fake_token_around_image><global-img>"` + `<image>` x imageSeqLen +
 * `<fake_token_around_image>`. Not split (0 x 0): `<fake_token_around_image><global-img>` +
 * `<image>` x imageSeqLen + `<fake_token_around_image>`.
 */
export function idefics3ImagePromptText(grid: PatchGrid, imageSeqLen: number): string {
  const t = IDEFICS3_TOKEN_TEXT;
  const images = t.image.repeat(imageSeqLen);
  let text = '';
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) text += t.fakeTokenAroundImage + idefics3RowColText(r, c) + images;
    text += '\n';
  }
  return `${text}${grid.rows > 0 ? '\n' : ''}${t.fakeTokenAroundImage}${t.globalImage}${images}${t.fakeTokenAroundImage}`;
}

/** The token ids of one expanded image and where its image tokens are. */
export interface Idefics3ImageTokens {
  /** The ids the `<image>` placeholder becomes (framing, separators, newlines and image tokens). */
  readonly ids: number[];
  /**
   * `imageTokenIndices[k]`: index in `ids` of image token `k` (in the vision encoder's feature
   * order, see `idefics3TokenOrigin`). A prompt that puts `ids` at cache position `p` holds image
   * token `k` at `p + imageTokenIndices[k]` (positions are 1-D: position = cache index).
   */
  readonly imageTokenIndices: number[];
  /**
   * The same ids as runs: text runs (framing, separators, newlines) and frames (`imageSeqLen`
   * image tokens each: image tokens `frame * imageSeqLen ...` in feature order), in sequence order -
   * what a family needs to lay the image out as token segments and one image segment per frame.
   */
  readonly runs: readonly Idefics3TokenRun[];
}

/** A run of an expanded image: text ids, or the image tokens of one frame (tile or global image). */
export type Idefics3TokenRun = { readonly kind: 'text'; readonly ids: readonly number[] } | { readonly kind: 'frame'; readonly frame: number };

/**
 * The token ids of one image with tile grid `grid` (the processor's rows / cols; 0 x 0 when not
 * split): the ids of {@link idefics3ImagePromptText}'s text, built from the tokenizer's ids
 * (tokenizing that text gives the same ids, since every newline run lies between special tokens).
 * Throws {@link PromptError} when the tokenizer has no `<row_r_col_c>` token for a tile.
 */
export function idefics3ImageTokens(grid: PatchGrid, imageSeqLen: number, tokens: Idefics3SpecialTokens): Idefics3ImageTokens {
  const ids: number[] = [];
  const imageTokenIndices: number[] = [];
  const runs: Idefics3TokenRun[] = [];
  let text: number[] = [];
  let frames = 0;
  const words = (...add: number[]): void => {
    ids.push(...add);
    text.push(...add);
  };
  const frame = (): void => {
    if (text.length) runs.push({ kind: 'text', ids: text });
    text = [];
    runs.push({ kind: 'frame', frame: frames++ });
    for (let i = 0; i < imageSeqLen; i++) {
      imageTokenIndices.push(ids.length);
      ids.push(tokens.image);
    }
  };
  for (let r = 0; r < grid.rows; r++) {
    for (let c = 0; c < grid.cols; c++) {
      const separator = tokens.rowCol[r]?.[c];
      if (separator === undefined)
        throw new PromptError(`The image is cut into ${grid.rows}x${grid.cols} tiles, but the tokenizer has no ${idefics3RowColText(r, c)} token.`, {
          hint: 'Lower size.longest_edge in preprocessor_config.json (fewer tiles), or use a tokenizer with that many row/column tokens.',
        });
      words(tokens.fakeTokenAroundImage, separator);
      frame();
    }
    words(...(r === grid.rows - 1 ? tokens.doubleNewline : tokens.newline));
  }
  words(tokens.fakeTokenAroundImage, tokens.globalImage);
  frame();
  words(tokens.fakeTokenAroundImage);
  runs.push({ kind: 'text', ids: text });
  return { ids, imageTokenIndices, runs };
}

/** A tokenized prompt cut at its `<image>` placeholders: text pieces and image slots, in prompt order. */
export type Idefics3PromptPiece = { readonly kind: 'text'; readonly ids: readonly number[] } | { readonly kind: 'image'; readonly index: number };

/**
 * Cut a tokenized prompt at its `<image>` placeholders (one image token per image, as the chat
 * template writes it), checking them against `imageCount` images. Throws {@link PromptError} when
 * placeholders and images do not match, or a placeholder is a run of several image tokens (an
 * already expanded prompt).
 */
export function splitIdefics3Prompt(tokenIds: readonly number[], imageCount: number, imageTokenId: number): Idefics3PromptPiece[] {
  const pieces: Idefics3PromptPiece[] = [];
  let text: number[] = [];
  let images = 0;
  for (let i = 0; i < tokenIds.length; i++) {
    const id = tokenIds[i]!;
    if (id !== imageTokenId) {
      text.push(id);
      continue;
    }
    if (tokenIds[i + 1] === imageTokenId)
      throw new PromptError('The prompt holds a run of image tokens; Idefics3 / SmolVLM prompts take one <image> placeholder per image.', {
        hint: 'Pass the chat-formatted text with a single <image> per image; it is expanded to the tiles here.',
      });
    if (images >= imageCount)
      throw new PromptError(`The prompt has more <image> placeholders than the ${imageCount} image(s) given.`, { hint: 'Pass one image per placeholder.' });
    if (text.length) pieces.push({ kind: 'text', ids: text });
    text = [];
    pieces.push({ kind: 'image', index: images++ });
  }
  if (text.length) pieces.push({ kind: 'text', ids: text });
  if (images !== imageCount)
    throw new PromptError(`The prompt has ${images} <image> placeholder(s), but ${imageCount} image(s) were given.`, {
      hint: 'Put one <image> in the prompt where each image goes.',
    });
  return pieces;
}

/** A tokenized prompt with every image expanded (see {@link expandIdefics3Prompt}). */
export interface ExpandedIdefics3Prompt {
  readonly ids: number[];
  /** Per image, in prompt order: the cache index (= 1-D position) of each of its image tokens, in feature order. */
  readonly imageTokenPositions: number[][];
}

/**
 * Expand each `<image>` placeholder of a tokenized prompt (one image token per image, as the chat
 * template writes it) into the image's tokens, `grids[i]` being image i's tile grid. Returns the
 * ids and, per image, the cache positions of its image tokens: the patch -> cache position map.
 * Throws {@link PromptError} as {@link splitIdefics3Prompt} does.
 */
export function expandIdefics3Prompt(tokenIds: readonly number[], grids: readonly PatchGrid[], imageSeqLen: number, tokens: Idefics3SpecialTokens): ExpandedIdefics3Prompt {
  const ids: number[] = [];
  const imageTokenPositions: number[][] = [];
  for (const piece of splitIdefics3Prompt(tokenIds, grids.length, tokens.image)) {
    if (piece.kind === 'text') {
      ids.push(...piece.ids);
      continue;
    }
    const image = idefics3ImageTokens(grids[piece.index]!, imageSeqLen, tokens);
    imageTokenPositions.push(image.imageTokenIndices.map((k) => ids.length + k));
    ids.push(...image.ids);
  }
  return { ids, imageTokenPositions };
}
