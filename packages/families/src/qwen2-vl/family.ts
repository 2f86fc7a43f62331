import {
  PromptError,
  concatPositions,
  contiguousCacheIndices,
  patchCell,
  sequentialPositions,
  type EncodedImage,
  type InputSegment,
  type InsertionBlock,
  type ModelFamilyV2,
  type PatchLayout,
  type PositionIds,
  type PromptImage,
} from '@icot/core';

/** Token facts the Qwen2-VL family needs. */
export interface Qwen2VlFamilySettings {
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  readonly imageTokenId: number;
  /** Text of the image placeholder token (`<|image_pad|>` in Qwen's tokenizer). */
  readonly imagePlaceholder?: string;
}

/**
 * Positions of one image's tokens starting at `start`: t = start, h = start + row, w = start + col
 * (row and column in the patch's grid).
 */
function imagePositions(image: EncodedImage, patches: readonly number[] | undefined, start: number): { positions: PositionIds; extent: number } {
  const list = patches ?? Array.from({ length: image.patchCount }, (_, i) => i);
  const n = list.length;
  const data = new Int32Array(3 * n);
  let extent = 0;
  for (let i = 0; i < n; i++) {
    const { row, col } = patchCell(image, list[i]!);
    data[i] = start;
    data[n + i] = start + row;
    data[2 * n + i] = start + col;
    extent = Math.max(extent, row + 1, col + 1);
  }
  return { positions: { axes: 3, length: n, data }, extent };
}

/**
 * The Qwen2-VL / Qwen2.5-VL family: images are framed by `<|vision_start|>` / `<|vision_end|>`
 * in the text, image tokens get 3-D M-RoPE positions (t, h, w), and an ICoT insertion is
 * `<|vision_start|>` + patches + `<|vision_end|>` laid out as in the official code.
 */
export function createQwen2VlFamily(settings: Qwen2VlFamilySettings): ModelFamilyV2 {
  const { visionStartTokenId, visionEndTokenId, imageTokenId } = settings;
  return {
    specificationVersion: 'v2',
    name: 'qwen2-vl',
    imagePlaceholder: settings.imagePlaceholder ?? '<|image_pad|>',
    positionAxes: 3,
    defaults: { k: 16, insertAfterPrompt: false, excludeSelected: false },
    suppressedTokenIds: [],

    expandPrompt(tokenIds, images) {
      const segments: InputSegment[] = [];
      const promptImages: PromptImage[] = [];
      const textTokenIds: number[] = [];
      let text: number[] = [];
      let offset = 0;
      let imageIndex = 0;
      for (let i = 0; i < tokenIds.length; ) {
        const id = tokenIds[i]!;
        if (id !== imageTokenId) {
          text.push(id);
          textTokenIds.push(id);
          i += 1;
          continue;
        }
        let run = 1;
        while (tokenIds[i + run] === imageTokenId) run += 1;
        const image = images[imageIndex];
        if (!image)
          throw new PromptError(`The prompt has more image placeholders than the ${images.length} image(s) given.`, {
            hint: 'Pass one image per placeholder, or remove the extra placeholders.',
          });
        if (run !== 1 && run !== image.patchCount)
          throw new PromptError(
            `Image ${imageIndex + 1} is written as ${run} placeholder tokens, but it has ${image.patchCount} patches.`,
            { hint: 'Write each image as a single placeholder; it is expanded to the right number of tokens.' },
          );
        if (text.length) segments.push({ type: 'tokens', ids: text });
        offset += text.length;
        text = [];
        promptImages.push({ image, cacheIndices: contiguousCacheIndices(offset, image.patchCount) });
        segments.push({ type: 'image', image });
        offset += image.patchCount;
        imageIndex += 1;
        i += run;
      }
      if (text.length) segments.push({ type: 'tokens', ids: text });
      if (imageIndex < images.length)
        throw new PromptError(
          imageIndex === 0
            ? `The prompt has no image placeholder (${settings.imagePlaceholder ?? '<|image_pad|>'}), but ${images.length} image(s) were given.`
            : `The prompt has ${imageIndex} image placeholder(s) but ${images.length} images were given.`,
          { hint: 'Put <|vision_start|><|image_pad|><|vision_end|> in the prompt where each image goes.' },
        );
      return { segments, images: promptImages, textTokenIds };
    },

    promptPositions(segments) {
      const parts: PositionIds[] = [];
      let next = 0;
      for (const segment of segments) {
        if (segment.type === 'tokens') {
          parts.push(sequentialPositions(3, next, segment.ids.length));
          next += segment.ids.length;
        } else {
          const { positions, extent } = imagePositions(segment.image, segment.patches, next);
          parts.push(positions);
          next += extent;
        }
      }
      return { positions: concatPositions(parts), nextPosition: next };
    },

    textPositions: (start, count) => sequentialPositions(3, start, count),

    insertionBlock({ image, patches, start, layout }: { image: EncodedImage; patches: readonly number[]; start: number; layout: PatchLayout }): InsertionBlock {
      const n = patches.length;
      const data = new Int32Array(3 * (n + 2));
      const length = n + 2;
      let extent: number;
      if (layout === 'grid') {
        // Official ICoT layout: the k patches on a ceil(sqrt(k)) square grid after vision_start.
        extent = Math.ceil(Math.sqrt(n));
        for (let i = 0; i < n; i++) {
          data[1 + i] = start + 1;
          data[length + 1 + i] = start + 1 + Math.floor(i / extent);
          data[2 * length + 1 + i] = start + 1 + (i % extent);
        }
      } else {
        // Source layout: each patch keeps its row/column offset (in its tile's grid) within the selection's bounding box.
        const cells = patches.map((p) => patchCell(image, p));
        let minRow = Infinity;
        let minCol = Infinity;
        let maxRow = -Infinity;
        let maxCol = -Infinity;
        for (const { row: r, col: c } of cells) {
          minRow = Math.min(minRow, r);
          minCol = Math.min(minCol, c);
          maxRow = Math.max(maxRow, r);
          maxCol = Math.max(maxCol, c);
        }
        extent = n ? Math.max(maxRow - minRow, maxCol - minCol) + 1 : 0;
        for (let i = 0; i < n; i++) {
          const cell = cells[i]!;
          data[1 + i] = start + 1;
          data[length + 1 + i] = start + 1 + cell.row - minRow;
          data[2 * length + 1 + i] = start + 1 + cell.col - minCol;
        }
      }
      const end = start + 1 + extent;
      for (let a = 0; a < 3; a++) {
        data[a * length] = start;
        data[a * length + length - 1] = end;
      }
      return {
        segments: [
          { type: 'tokens', ids: [visionStartTokenId] },
          { type: 'image', image, patches },
          { type: 'tokens', ids: [visionEndTokenId] },
        ],
        positions: { axes: 3, length, data },
        nextPosition: end + 1,
      };
    },
  };
}
