import {
  PromptError,
  type ChatMessage,
  type EncodedImage,
  type ModelFamilyV2,
  type PreparedPrompt,
  type PromptInput,
  type TokenizerV1,
} from '@icot/core';

/**
 * Region syntax: `<region image=N rows=A-B cols=C-D>` stands for the tokens of grid rows A..B and
 * columns C..D (inclusive, 0-based) of image N (1-based in the prompt's image list), framed like
 * a whole image. One-shot demonstrations use it to point at parts of a demo image.
 */
export const REGION_PATTERN = /<region\s+image=(\d+)\s+rows=(\d+)(?:-(\d+))?\s+cols=(\d+)(?:-(\d+))?\s*>/g;

/**
 * Prepare a prompt the way every backend does: format chat messages with the model's template,
 * expand region markup, tokenize, let the family expand image placeholders into image segments,
 * and compute positions.
 *
 * Whole-image placeholders take the images in the order given; regions refer to images by number.
 * Images after the last one a placeholder takes must be used by a region (e.g. a demo image).
 */
export function preparePromptWithFamily(
  family: ModelFamilyV2,
  tokenizer: TokenizerV1,
  applyChatTemplate: (messages: readonly ChatMessage[]) => string,
  input: PromptInput,
): PreparedPrompt {
  const text = 'text' in input ? input.text : applyChatTemplate(input.messages);
  const placeholder = family.imagePlaceholder;
  const images: EncodedImage[] = [];
  const isRegion: boolean[] = [];
  const used = new Set<number>();
  let whole = 0;
  let rewritten = '';
  let last = 0;
  const pattern = new RegExp(`${REGION_PATTERN.source}|${placeholder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g');
  for (const match of text.matchAll(pattern)) {
    rewritten += text.slice(last, match.index) + placeholder;
    last = match.index + match[0].length;
    if (match[1] === undefined) {
      const image = input.images[whole];
      if (!image) throw new PromptError(`The prompt has more image placeholders than the ${input.images.length} image(s) given.`, { hint: 'Pass one image per placeholder.' });
      images.push(image);
      isRegion.push(false);
      used.add(whole++);
      continue;
    }
    const n = Number(match[1]);
    const image = input.images[n - 1];
    if (!image) throw new PromptError(`${match[0]} refers to image ${n}, but ${input.images.length} image(s) were given.`, { hint: 'Number images from 1 in the order they are passed.' });
    if (!image.crop) throw new PromptError(`${match[0]}: this model's images cannot be cropped to regions.`);
    const rows: [number, number] = [Number(match[2]), Number(match[3] ?? match[2])];
    const cols: [number, number] = [Number(match[4]), Number(match[5] ?? match[4])];
    if (rows[0] > rows[1] || cols[0] > cols[1] || rows[1] >= image.grid.rows || cols[1] >= image.grid.cols)
      throw new PromptError(`${match[0]} is outside image ${n}'s ${image.grid.rows}x${image.grid.cols} patch grid.`, {
        hint: `Use rows 0-${image.grid.rows - 1} and cols 0-${image.grid.cols - 1}, first <= last.`,
      });
    images.push(image.crop(rows, cols));
    isRegion.push(true);
    used.add(n - 1);
  }
  rewritten += text.slice(last);
  if (whole === 0 && images.length === 0 && input.images.length)
    throw new PromptError(`The prompt has no image placeholder (${placeholder}), but ${input.images.length} image(s) were given.`, {
      hint: `Put ${placeholder} in the prompt where the image goes.`,
    });
  const unused = input.images.map((_, i) => i).filter((i) => !used.has(i));
  if (unused.length)
    throw new PromptError(`Image ${unused.map((i) => i + 1).join(', ')} is not used by the prompt.`, {
      hint: `Add a ${placeholder} placeholder or a <region image=N ...> for every image passed.`,
    });
  const expanded = family.expandPrompt(tokenizer.encode(rewritten), images);
  const promptImages = expanded.images.map((image, i) => (isRegion[i] ? { ...image, region: true } : image));
  const { positions, nextPosition } = family.promptPositions(expanded.segments);
  return { ...expanded, images: promptImages, positions, nextPosition, length: positions.length };
}
