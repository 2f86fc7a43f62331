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
 * a whole image. One-shot demonstrations use it to point at parts of a demo image. A single row or
 * column is written `rows=A`; the attributes may come in any order. Anything else that starts
 * like a region tag (`<region` followed by a space or `>`, in any letter case) is refused with a
 * {@link PromptError} naming the tag and this form.
 */
export const REGION_PATTERN = /<region\s+image=(\d+)\s+rows=(\d+)(?:-(\d+))?\s+cols=(\d+)(?:-(\d+))?\s*>/g;

/** The region syntax as users are told to write it. */
const REGION_FORM = '<region image=N rows=A-B cols=C-D>';
/** Where something that starts like a region tag begins (any letter case, so that `<Region ...>` is not silently kept as text). */
const REGION_START = '<[Rr][Ee][Gg][Ii][Oo][Nn](?=[\\s>]|$)';

/** A parsed region tag: the 1-based image number, and inclusive grid row and column ranges. */
interface RegionTag {
  readonly text: string;
  readonly image: number;
  readonly rows: readonly [number, number];
  readonly cols: readonly [number, number];
}

/** The tag text as shown in messages (shortened when long). */
function shown(tag: string): string {
  return JSON.stringify(tag.length > 80 ? `${tag.slice(0, 77)}...` : tag);
}

function malformed(tag: string, problem: string): PromptError {
  return new PromptError(`The region tag ${shown(tag)} ${problem}.`, {
    hint: `Write a region as ${REGION_FORM}: image N counts the images passed from 1, rows A-B and cols C-D are inclusive 0-based ranges of its patch grid (a single one as rows=A), e.g. <region image=2 rows=0-3 cols=4-7>.`,
  });
}

/**
 * Parse the region tag that starts at `start` (where {@link REGION_START} matched). Throws a
 * {@link PromptError} naming the tag and the correct form for anything but a well-formed tag:
 * no closing `>`, letter case, a missing, unknown or repeated attribute, a value that is not a
 * number or an increasing range.
 */
function parseRegionTag(text: string, start: number): RegionTag {
  let end = start + 1;
  while (end < text.length && text[end] !== '>' && text[end] !== '<' && text[end] !== '\n') end++;
  if (text[end] !== '>') throw malformed(text.slice(start, end).trimEnd(), "has no closing '>'");
  const tag = text.slice(start, end + 1);
  if (!tag.startsWith('<region')) throw malformed(tag, "is not written in lower case ('<region')");
  const values = new Map<string, string>();
  for (const part of tag.slice('<region'.length, -1).trim().split(/\s+/).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !['image', 'rows', 'cols'].includes(key)) throw malformed(tag, `has '${part}', which is not one of its attributes image=, rows=, cols=`);
    if (values.has(key)) throw malformed(tag, `gives ${key}= twice`);
    values.set(key, part.slice(eq + 1));
  }
  const missing = ['image', 'rows', 'cols'].filter((key) => !values.has(key));
  if (missing.length) {
    const names = missing.map((key) => `${key}=`);
    throw malformed(tag, `misses ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]}`);
  }
  const image = values.get('image')!;
  if (!/^[1-9]\d*$/.test(image)) throw malformed(tag, `has image=${image}, not an image number (1, 2, ...)`);
  const range = (key: 'rows' | 'cols'): [number, number] => {
    const value = values.get(key)!;
    const match = /^(\d+)(?:-(\d+))?$/.exec(value);
    if (!match) throw malformed(tag, `has ${key}=${value}, not a range of grid ${key} (A-B, or A for one)`);
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    if (first > last) throw malformed(tag, `has ${key}=${value}, whose first ${key === 'rows' ? 'row' : 'column'} comes after its last`);
    return [first, last];
  };
  return { text: tag, image: Number(image), rows: range('rows'), cols: range('cols') };
}

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
  const pattern = new RegExp(`(${REGION_START})|${placeholder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g');
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    rewritten += text.slice(last, match.index) + placeholder;
    if (match[1] === undefined) {
      last = match.index + match[0].length;
      const image = input.images[whole];
      if (!image) throw new PromptError(`The prompt has more image placeholders than the ${input.images.length} image(s) given.`, { hint: 'Pass one image per placeholder.' });
      images.push(image);
      isRegion.push(false);
      used.add(whole++);
      continue;
    }
    const region = parseRegionTag(text, match.index);
    last = pattern.lastIndex = match.index + region.text.length;
    const n = region.image;
    const image = input.images[n - 1];
    if (!image)
      throw new PromptError(`The region tag ${shown(region.text)} refers to image ${n}, but ${input.images.length} image(s) were given.`, {
        hint: `Number images from 1 in the order they are passed (${REGION_FORM}), and pass the demo image too.`,
      });
    if (!image.crop)
      throw new PromptError(`The region tag ${shown(region.text)} cannot be used: this model's images (e.g. tiled ones) cannot be cropped to regions.`, {
        hint: 'Use a model with single-grid images (Qwen2-VL, LLaVA, Chameleon) for region prompts, or show the whole demo image with an image placeholder.',
      });
    const { rows, cols } = region;
    if (rows[1] >= image.grid.rows || cols[1] >= image.grid.cols)
      throw new PromptError(`The region tag ${shown(region.text)} is outside image ${n}'s ${image.grid.rows}x${image.grid.cols} patch grid.`, {
        hint: `Use rows within 0-${image.grid.rows - 1} and cols within 0-${image.grid.cols - 1}, e.g. <region image=${n} rows=0-${image.grid.rows - 1} cols=0-${image.grid.cols - 1}> for the whole image.`,
      });
    images.push(image.crop([rows[0], rows[1]], [cols[0], cols[1]]));
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
