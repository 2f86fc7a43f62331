import {
  OptionError,
  SelectionError,
  throwIfAborted,
  type EncodedImage,
  type PatchSelection,
  type PatchSelectorV2,
  type RgbImage,
  type SelectionRequest,
  type SelectorRequirements,
} from '@icot/core';
import { topKIndices } from '@icot/selector-ads';
import { chooseRegions } from './choose.js';
import { regionsFromSuperpixels, type PatchRegion } from './regions.js';
import { checkSlicOptions, slic, shrinkImage, SLIC_DEFAULTS } from './slic.js';

/** What a {@link RegionSource} is asked for: the query image, its pixels and (when it reads them) the attention scores. */
export interface RegionRequest {
  readonly image: EncodedImage;
  readonly pixels: RgbImage;
  /** The signal token's attention on each patch. */
  readonly scores: Float32Array;
  readonly k: number;
  /** Patches that must not be chosen (a source may skip them, e.g. as prompts). */
  readonly exclude: ReadonlySet<number>;
  readonly signal?: AbortSignal;
}

/**
 * Where the regions come from: SLIC superpixels ({@link createSlicRegionSource}, the default) or
 * SAM-family masks (`createSamRegionSource` from `@icot/selector-segmentation/transformers`).
 */
export interface RegionSource {
  /** The variant recorded on every insertion (`slic`, `sam-grid`, `sam-peaks`). */
  readonly variant: string;
  /** The regions of the query image, each as its patch indices (ascending). */
  regions(request: RegionRequest): readonly PatchRegion[] | Promise<readonly PatchRegion[]>;
}

/** Settings of {@link createSlicRegionSource}: SLIC's (scikit-image's defaults) and the size it runs at. */
export interface SlicRegionOptions {
  /** Approximate number of superpixels (scikit-image's `n_segments`; default 100). */
  readonly segments?: number;
  /** SLIC's compactness m (scikit-image's default 10). */
  readonly compactness?: number;
  /** SLIC rounds (default 10, the paper's). */
  readonly iterations?: number;
  /**
   * Larger images are segmented shrunk by the smallest integer factor that brings them to at most
   * this many pixels (block means; default 262,144 = 512 x 512), bounding the cost on photos (SLIC is
   * about 1 s per megapixel on one core here; superpixels of a 512-pixel image are still several
   * times larger than its patches).
   */
  readonly maxPixels?: number;
}

/** The default of {@link SlicRegionOptions.maxPixels}. */
export const DEFAULT_MAX_PIXELS = 512 * 512;

/**
 * SLIC regions ({@link slic}, {@link regionsFromSuperpixels}). The superpixels depend only on the
 * pixels, so they are computed once per query image and reused by every later insertion of the
 * run (kept in a WeakMap keyed by the encoded image).
 */
export function createSlicRegionSource(options: SlicRegionOptions = {}): RegionSource {
  const slicOptions = checkSlicOptions({ segments: options.segments, compactness: options.compactness, iterations: options.iterations });
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 64)
    throw new OptionError(`maxPixels must be an integer >= 64, got ${String(maxPixels)}.`, { hint: `Use e.g. maxPixels: ${DEFAULT_MAX_PIXELS} (512 x 512).` });
  const cache = new WeakMap<EncodedImage, { readonly pixels: RgbImage; readonly regions: readonly PatchRegion[] }>();
  return {
    variant: 'slic',
    regions({ image, pixels }) {
      const cached = cache.get(image);
      if (cached && cached.pixels === pixels) return cached.regions;
      const { image: small, factor } = shrinkImage(pixels, maxPixels);
      const regions = regionsFromSuperpixels(image, slic(small, slicOptions), pixels, factor);
      cache.set(image, { pixels, regions });
      return regions;
    },
  };
}

/** Options of {@link createSegmentationSelector}: plain JSON (a run description can carry them). */
export interface SegmentationSelectorOptions extends SlicRegionOptions {
  /** Name reported in results (default `segmentation`). */
  readonly name?: string;
  /**
   * Drop regions with more patches than this (DaP-ICoT drops SAM masks over 64 tokens; default:
   * the request's k).
   */
  readonly maxRegionPatches?: number;
  /**
   * Fill the slots whole regions leave with the most attended patches of the best region that did
   * not fit, so an insertion has k patches (default true); false inserts whole regions only (fewer
   * tokens, as DaP-ICoT).
   */
  readonly fill?: boolean;
}

/** Settings of {@link SegmentationSelector}: a region source and the selection rules. */
export interface SegmentationSelectorSettings {
  readonly source: RegionSource;
  readonly name?: string;
  readonly maxRegionPatches?: number;
  readonly fill?: boolean;
}

const OPTION_NAMES = ['name', 'segments', 'compactness', 'iterations', 'maxPixels', 'maxRegionPatches', 'fill'] as const;

/** Defaults of {@link SegmentationSelectorOptions} (`maxRegionPatches` absent: the request's k). */
export const SEGMENTATION_DEFAULTS = {
  name: 'segmentation',
  segments: SLIC_DEFAULTS.segments,
  compactness: SLIC_DEFAULTS.compactness,
  iterations: SLIC_DEFAULTS.iterations,
  maxPixels: DEFAULT_MAX_PIXELS,
  fill: true,
} as const;

/** Check the selection rules shared by every region source; throws {@link OptionError}. */
export function checkSelectionSettings(settings: { readonly name?: unknown; readonly maxRegionPatches?: unknown; readonly fill?: unknown }): void {
  const { name, maxRegionPatches, fill } = settings;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === ''))
    throw new OptionError(`name must be a non-empty string, got ${JSON.stringify(name)}.`, { hint: "Leave it out for 'segmentation'." });
  if (maxRegionPatches !== undefined && (!Number.isInteger(maxRegionPatches) || (maxRegionPatches as number) < 1))
    throw new OptionError(`maxRegionPatches must be an integer >= 1, got ${String(maxRegionPatches)}.`, { hint: 'Leave it out to use k, or use e.g. 64 (DaP-ICoT).' });
  if (fill !== undefined && typeof fill !== 'boolean') throw new OptionError(`fill must be true or false, got ${JSON.stringify(fill)}.`, { hint: 'Use fill: true (default) or fill: false.' });
}

/**
 * Segmentation selection: the query image split into regions (SLIC superpixels by default), whole
 * regions chosen by the attention mass they cover ({@link chooseRegions}), so inserted evidence is
 * spatially coherent. Each insertion reports the regions it took whole (`regions`) and the
 * variant (`slic`, ...). When every region is over the budget, ADS's top-k chooses instead and
 * the insertion says so (`fallback: { selector: 'ads', reason }`).
 */
export class SegmentationSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly requires: SelectorRequirements = { attention: true, pixels: true };
  readonly name: string;
  readonly #source: RegionSource;
  readonly #maxRegionPatches: number | undefined;
  readonly #fill: boolean;

  constructor(settings: SegmentationSelectorSettings) {
    checkSelectionSettings(settings);
    this.name = settings.name ?? SEGMENTATION_DEFAULTS.name;
    this.#source = settings.source;
    this.#maxRegionPatches = settings.maxRegionPatches;
    this.#fill = settings.fill ?? SEGMENTATION_DEFAULTS.fill;
  }

  async select(request: SelectionRequest): Promise<PatchSelection> {
    const { scores, pixels, image, k, exclude, signal } = request;
    if (!scores) throw new SelectionError(`The ${this.name} selector needs attention scores, but the request has none.`, { hint: 'Run it through generateICoT (it declares requires.attention), or pass scores.' });
    if (!pixels) throw new SelectionError(`The ${this.name} selector needs the query image's pixels, but the request has none.`, { hint: 'Run it through generateICoT on a model with the pixels capability, or pass pixels.' });
    if (scores.length !== image.patchCount) throw new SelectionError(`The ${this.name} selector got ${scores.length} scores for an image of ${image.patchCount} patches.`);
    if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
    if (k > image.patchCount) throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
    if (pixels.width !== image.size.width || pixels.height !== image.size.height)
      throw new SelectionError(`The pixels are ${pixels.width} x ${pixels.height}, but the image's patch boxes are for ${image.size.width} x ${image.size.height}.`, { hint: "Pass the encoded image's own pixels (image.pixels)." });
    throwIfAborted(signal);
    const regions = await this.#source.regions({ image, pixels, scores, k, exclude, ...(signal ? { signal } : {}) });
    const choice = chooseRegions(regions, scores, k, exclude, { maxRegionPatches: this.#maxRegionPatches ?? k, fill: this.#fill });
    if (choice.kind === 'nothing-fits')
      return { indices: topKIndices(scores, k, exclude), variant: this.#source.variant, fallback: { selector: 'ads', reason: choice.reason } };
    return { indices: choice.indices, variant: this.#source.variant, regions: choice.regions };
  }
}

/**
 * Create the segmentation selector with SLIC regions. `options` is plain JSON (defaults:
 * {@link SEGMENTATION_DEFAULTS}; `maxRegionPatches` defaults to the request's k); unknown or bad
 * options throw {@link OptionError}.
 */
export function createSegmentationSelector(options: SegmentationSelectorOptions = {}): SegmentationSelector {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`Segmentation options must be an object, got ${JSON.stringify(options)}.`, { hint: 'Pass e.g. { segments: 100, compactness: 10 }.' });
  const unknown = Object.keys(options).filter((key) => !(OPTION_NAMES as readonly string[]).includes(key));
  if (unknown.length > 0)
    throw new OptionError(`Unknown segmentation option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, { hint: `Use: ${OPTION_NAMES.join(', ')}.` });
  const { name, maxRegionPatches, fill, ...slicOptions } = options;
  checkSelectionSettings({ name, maxRegionPatches, fill });
  return new SegmentationSelector({
    source: createSlicRegionSource(slicOptions),
    ...(name !== undefined ? { name } : {}),
    ...(maxRegionPatches !== undefined ? { maxRegionPatches } : {}),
    ...(fill !== undefined ? { fill } : {}),
  });
}
