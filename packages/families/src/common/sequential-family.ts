import {
  PromptError,
  contiguousCacheIndices,
  segmentLength,
  sequentialPositions,
  type EncodedImage,
  type FamilyDefaults,
  type InputSegment,
  type InsertionBlock,
  type ModelFamilyV2,
  type PromptImage,
} from '@icot/core';

/** Settings of a family with 1-D positions. */
export interface SequentialFamilySettings {
  readonly name: string;
  /** Token id that marks an image in tokenized prompts. */
  readonly imageTokenId: number;
  /** Text of that token. */
  readonly imagePlaceholder: string;
  /** Token ids written before / after an image's tokens, in prompts and inserted blocks. */
  readonly imagePrefix?: readonly number[];
  readonly imageSuffix?: readonly number[];
  /**
   * Token ids written after each row of an image's patches in prompts (LLaVA-NeXT ends every row
   * with a newline): the image's patches then sit in several runs of the cache, which its patch
   * map records. Inserted blocks carry only the selected patches.
   */
  readonly rowSuffix?: readonly number[];
  /** Token ids that start every prompt (e.g. a BOS token). */
  readonly promptPrefix?: readonly number[];
  readonly defaults: FamilyDefaults;
  readonly suppressedTokenIds?: readonly number[];
}

/**
 * A family whose positions are plain 1-D sequence indices (LLaVA-style, Chameleon): each image
 * placeholder becomes prefix + image tokens + suffix, and an insertion is the same framing around
 * the selected patches, at the next positions.
 */
export function createSequentialFamily(settings: SequentialFamilySettings): ModelFamilyV2 {
  const prefix = settings.imagePrefix ?? [];
  const suffix = settings.imageSuffix ?? [];
  const framed = (image: EncodedImage, patches?: readonly number[]): InputSegment[] => [
    ...(prefix.length ? [{ type: 'tokens', ids: prefix } as const] : []),
    patches ? { type: 'image', image, patches } : { type: 'image', image },
    ...(suffix.length ? [{ type: 'tokens', ids: suffix } as const] : []),
  ];
  return {
    specificationVersion: 'v2',
    name: settings.name,
    imagePlaceholder: settings.imagePlaceholder,
    positionAxes: 1,
    defaults: settings.defaults,
    suppressedTokenIds: settings.suppressedTokenIds ?? [],
    expandPrompt(tokenIds, images) {
      const segments: InputSegment[] = [];
      const promptImages: PromptImage[] = [];
      const textTokenIds: number[] = [];
      let text: number[] = [...(settings.promptPrefix ?? [])];
      textTokenIds.push(...text);
      let offset = 0;
      let imageIndex = 0;
      const flush = (): void => {
        if (text.length) segments.push({ type: 'tokens', ids: text });
        offset += text.length;
        text = [];
      };
      for (let i = 0; i < tokenIds.length; ) {
        const id = tokenIds[i]!;
        if (id !== settings.imageTokenId) {
          text.push(id);
          textTokenIds.push(id);
          i += 1;
          continue;
        }
        let run = 1;
        while (tokenIds[i + run] === settings.imageTokenId) run += 1;
        const image = images[imageIndex];
        if (!image)
          throw new PromptError(`The prompt has more image placeholders than the ${images.length} image(s) given.`, {
            hint: 'Pass one image per placeholder, or remove the extra placeholders.',
          });
        if (run !== 1 && run !== image.patchCount)
          throw new PromptError(`Image ${imageIndex + 1} is written as ${run} placeholder tokens, but it has ${image.patchCount} patches.`, {
            hint: 'Write each image as a single placeholder; it is expanded to the right number of tokens.',
          });
        text.push(...prefix);
        textTokenIds.push(...prefix);
        flush();
        const rowSuffix = settings.rowSuffix ?? [];
        if (!rowSuffix.length) {
          promptImages.push({ image, cacheIndices: contiguousCacheIndices(offset, image.patchCount) });
          segments.push({ type: 'image', image });
          offset += image.patchCount;
        } else {
          const cacheIndices = new Int32Array(image.patchCount);
          const { rows, cols } = image.grid;
          for (let r = 0; r < rows; r++) {
            flush();
            const patches = Array.from({ length: cols }, (_, c) => r * cols + c);
            for (const p of patches) cacheIndices[p] = offset++;
            segments.push({ type: 'image', image, patches });
            text.push(...rowSuffix);
            textTokenIds.push(...rowSuffix);
          }
          promptImages.push({ image, cacheIndices });
        }
        text.push(...suffix);
        textTokenIds.push(...suffix);
        imageIndex += 1;
        i += run;
      }
      flush();
      if (imageIndex < images.length)
        throw new PromptError(
          imageIndex === 0
            ? `The prompt has no image placeholder (${settings.imagePlaceholder}), but ${images.length} image(s) were given.`
            : `The prompt has ${imageIndex} image placeholder(s) but ${images.length} images were given.`,
          { hint: `Put ${settings.imagePlaceholder} in the prompt where each image goes.` },
        );
      return { segments, images: promptImages, textTokenIds };
    },
    promptPositions(segments) {
      const n = segmentLength(segments);
      return { positions: sequentialPositions(1, 0, n), nextPosition: n };
    },
    textPositions: (start, count) => sequentialPositions(1, start, count),
    insertionBlock({ image, patches, start }): InsertionBlock {
      const segments = framed(image, patches);
      const n = segmentLength(segments);
      return { segments, positions: sequentialPositions(1, start, n), nextPosition: start + n };
    },
  };
}
