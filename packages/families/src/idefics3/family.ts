import {
  patchCell,
  PromptError,
  segmentLength,
  sequentialPositions,
  type EncodedImage,
  type ImageTile,
  type InputSegment,
  type InsertionBlock,
  type ModelFamilyV2,
  type PatchGrid,
} from '@icot/core';
import { PromptSegments } from '../common/prompt-segments.js';
import { IDEFICS3_TOKEN_TEXT, idefics3ImageTokens, idefics3RowColText, splitIdefics3Prompt, type Idefics3SpecialTokens } from './prompt.js';

/** Settings of {@link createIdefics3Family}. */
export interface Idefics3FamilySettings {
  /** The image tokens, read from the tokenizer (`readIdefics3SpecialTokens`). */
  readonly tokens: Idefics3SpecialTokens;
  /** Image tokens per frame (`image_seq_len`, `readIdefics3Config(...).imageSeqLen`). */
  readonly imageSeqLen: number;
}

/**
 * The tile grid of an image an Idefics3 model encoded (the processor's rows / cols; 0 x 0 for a
 * single frame), checked against the family's layout: local tiles in raster order, then the
 * global image, `imageSeqLen` patches each. Throws {@link PromptError} for an image of another model.
 */
export function idefics3TileGrid(image: EncodedImage, imageSeqLen: number): PatchGrid {
  const tiles = image.tiles;
  const last = tiles?.[tiles.length - 1];
  if (!tiles || last?.place !== 'global')
    throw new PromptError('This image was not encoded by an Idefics3 / SmolVLM model (it has no tiles ending with the global image).', {
      hint: 'Encode images with the same model: model.encodeImage(image).',
    });
  const local = tiles.slice(0, -1);
  let rows = 0;
  let cols = 0;
  for (const tile of local)
    if (tile.place !== 'global') {
      rows = Math.max(rows, tile.place.row + 1);
      cols = Math.max(cols, tile.place.col + 1);
    }
  const inOrder = local.every((tile, i) => tile.place !== 'global' && tile.place.row * cols + tile.place.col === i);
  if (local.length !== rows * cols || !inOrder || image.patchCount !== tiles.length * imageSeqLen)
    throw new PromptError(`The image's ${tiles.length} tiles (${image.patchCount} patches) are not an Idefics3 tiling of ${imageSeqLen} image tokens per frame.`, {
      hint: 'Encode images with the same model: model.encodeImage(image).',
    });
  return { rows, cols };
}

/** The token after `<fake_token_around_image>` that opens a frame in the prompt: `<row_r_col_c>` for a tile, `<global-img>` for the global view. */
function separatorOf(place: ImageTile['place'], tokens: Idefics3SpecialTokens): number {
  if (place === 'global') return tokens.globalImage;
  const id = tokens.rowCol[place.row]?.[place.col];
  if (id === undefined)
    throw new PromptError(`The image has a tile at row ${place.row + 1}, column ${place.col + 1}, but the tokenizer has no ${idefics3RowColText(place.row, place.col)} token.`, {
      hint: 'Use the tokenizer that belongs to this SmolVLM / Idefics3 export.',
    });
  return id;
}

/**
 * The Idefics3 / SmolVLM family: 1-D positions (position = cache index); each `<image>`
 * placeholder becomes the processor's layout (transformers' `get_image_prompt_string`): per tile
 * `<fake_token_around_image><row_r_col_c>` + its image tokens, a newline after each tile row, then
 * `<fake_token_around_image><global-img>` + the global image's tokens + `<fake_token_around_image>`
 * - one image segment per frame, the separators between them, so the image's patch map has one run
 * per frame.
 *
 * An insertion feeds the selected patches' features at the next positions, framed as the family
 * frames an image:
 * - `grid` (the official ICoT layout): `<fake_token_around_image>` + the k features +
 *   `<fake_token_around_image>`. Every image in an Idefics3 prompt opens with and ends with
 *   `<fake_token_around_image>`, and Idefics2 - the family's predecessor - frames each image with
 *   exactly these two tokens (transformers `processing_idefics2.py`); `<global-img>` is left out
 *   because the selection is not the global view (its patches may come from any tile), and row/column
 *   tokens because the patches of several tiles are mixed.
 * - `source`: the selected patches grouped by frame (in frame order; within a frame in the order
 *   given), each group after the separator its frame has in the prompt (`<fake_token_around_image>`
 *   + `<row_r_col_c>`, or `<global-img>` for the global view), then `<fake_token_around_image>`: each
 *   patch keeps its tile and its raster order within the tile, as in the prompt. Positions are 1-D
 *   either way.
 */
export function createIdefics3Family(settings: Idefics3FamilySettings): ModelFamilyV2 {
  const { tokens, imageSeqLen } = settings;
  const fake = tokens.fakeTokenAroundImage;
  return {
    specificationVersion: 'v2',
    name: 'idefics3',
    imagePlaceholder: IDEFICS3_TOKEN_TEXT.image,
    positionAxes: 1,
    defaults: { k: 16, insertAfterPrompt: false, excludeSelected: false },
    suppressedTokenIds: [],
    expandPrompt(tokenIds, images) {
      const prompt = new PromptSegments();
      for (const piece of splitIdefics3Prompt(tokenIds, images.length, tokens.image)) {
        if (piece.kind === 'text') {
          prompt.text(piece.ids);
          continue;
        }
        const image = images[piece.index]!;
        const expanded = idefics3ImageTokens(idefics3TileGrid(image, imageSeqLen), imageSeqLen, tokens);
        const start = prompt.length;
        prompt.promptImage({ image, cacheIndices: Int32Array.from(expanded.imageTokenIndices, (k) => start + k) });
        for (const run of expanded.runs) {
          if (run.kind === 'text') prompt.text(run.ids);
          else prompt.image(image, Array.from({ length: imageSeqLen }, (_, i) => run.frame * imageSeqLen + i));
        }
      }
      return prompt.done();
    },
    promptPositions(segments) {
      const n = segmentLength(segments);
      return { positions: sequentialPositions(1, 0, n), nextPosition: n };
    },
    textPositions: (start, count) => sequentialPositions(1, start, count),
    insertionBlock({ image, patches, start, layout }): InsertionBlock {
      const segments: InputSegment[] = [];
      if (layout === 'grid') segments.push({ type: 'tokens', ids: [fake] }, { type: 'image', image, patches });
      else {
        const byTile = new Map<number, number[]>();
        for (const p of patches) {
          const tile = patchCell(image, p).tile;
          (byTile.get(tile) ?? byTile.set(tile, []).get(tile)!).push(p);
        }
        const tiles = image.tiles ?? [];
        for (const [tile, group] of [...byTile].sort((a, b) => a[0] - b[0])) {
          const separator = separatorOf(tiles[tile]?.place ?? 'global', tokens);
          segments.push({ type: 'tokens', ids: [fake, separator] }, { type: 'image', image, patches: group });
        }
      }
      segments.push({ type: 'tokens', ids: [fake] });
      const n = segmentLength(segments);
      return { segments, positions: sequentialPositions(1, start, n), nextPosition: start + n };
    },
  };
}
