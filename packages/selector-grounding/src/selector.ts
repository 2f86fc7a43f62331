import {
  IcotError,
  SelectionError,
  type GroundedBox,
  type PatchSelection,
  type PatchSelectorV2,
  type SelectionRequest,
  type SelectorRequirements,
} from '@icot/core';
import { topKIndices } from '@icot/selector-ads';
import type { Grounder, GroundingRequest, GroundingResult } from './grounder.js';
import { resolveGroundingOptions, type GroundingSelectorOptions, type ResolvedGroundingOptions } from './options.js';
import { patchesForBoxes } from './patches.js';
import { groundingTexts } from './text.js';
import { VlmGrounder } from './vlm-grounder.js';

/** The strategy that chooses when grounding cannot: ADS, top-k by attention. */
export const FALLBACK_SELECTOR = 'ads';

/**
 * A detector grounder loaded on first use (the detector module and transformers.js are imported
 * only then), so that creating the selector stays synchronous and cheap.
 */
class LazyDetectorGrounder implements Grounder {
  readonly name = 'detector';
  readonly requires = { pixels: true } as const;
  private loaded: Promise<Grounder> | undefined;

  constructor(private readonly options: ResolvedGroundingOptions) {}

  private load(): Promise<Grounder> {
    this.loaded ??= import('./detector.js').then(({ createDetectorGrounder }) =>
      createDetectorGrounder({
        model: this.options.detector!,
        threshold: this.options.detectorThreshold,
        dtype: this.options.detectorDtype,
        maxBoxes: this.options.maxBoxes,
        offline: this.options.offline,
        ...(this.options.cacheDir !== undefined ? { cacheDir: this.options.cacheDir } : {}),
      }),
    );
    return this.loaded;
  }

  async ground(request: GroundingRequest): Promise<GroundingResult> {
    return (await this.load()).ground(request);
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded) await (await loaded.catch(() => undefined))?.dispose?.();
  }
}

/** The grounder the options name. */
function grounderFor(options: ResolvedGroundingOptions): Grounder {
  if (options.grounder === 'detector') return new LazyDetectorGrounder(options);
  return new VlmGrounder({ form: options.form, decoding: options.decoding, maxAnswerTokens: options.maxAnswerTokens, maxBoxes: options.maxBoxes });
}

/**
 * Grounding selection: the text of the reasoning step that just ended (or its noun phrases) is
 * turned into boxes by a {@link Grounder} - the VLM itself in a side run on a fork, or an
 * open-vocabulary detector - and the patches the boxes cover are selected
 * ({@link patchesForBoxes}). When there is nothing to ground, the grounder finds no usable box, or
 * the boxes cover no selectable patch, ADS chooses (top-k by attention) and the selection says so
 * in `fallback`. The located boxes are reported in `groundedBoxes`, the grounder's variant in
 * `variant`.
 */
export class GroundingSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'grounding';
  readonly requires: SelectorRequirements;
  /** The options with their defaults. */
  readonly options: ResolvedGroundingOptions;
  readonly grounder: Grounder;

  /** `grounder` replaces the one the options name (for grounders of your own). */
  constructor(options: GroundingSelectorOptions = {}, grounder?: Grounder) {
    this.options = resolveGroundingOptions(options);
    this.grounder = grounder ?? grounderFor(this.options);
    this.requires = {
      attention: true,
      ...(this.grounder.requires.fork ? { fork: true } : {}),
      ...(this.grounder.requires.pixels ? { pixels: true } : {}),
    };
  }

  async select(request: SelectionRequest): Promise<PatchSelection> {
    const { scores, image, k, exclude } = request;
    if (!scores) throw new IcotError('internal', 'The grounding selector needs attention scores (for ties and for its ADS fallback), but the request has none.');
    if (scores.length !== image.patchCount)
      throw new SelectionError(`The grounding selector got ${scores.length} scores for an image of ${image.patchCount} patches.`);
    if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
    if (k > image.patchCount) throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
    if (this.requires.fork && !request.sideRuns)
      throw new IcotError('internal', `The ${this.grounder.name} grounder needs side runs (a fork of the decoding session), but the request has none.`);
    if (this.requires.pixels && !request.pixels)
      throw new IcotError('internal', `The ${this.grounder.name} grounder needs the query image's pixels, but the request has none.`);
    const o = this.options;
    const what = `${o.text === 'step' ? 'the step' : 'noun phrases'}; ${o.patches === 'overlap' ? 'top-k by overlap' : `patches covered >= ${o.minCoverage}`}`;
    const fallback = (reason: string, variant: string, groundedBoxes?: readonly GroundedBox[]): PatchSelection => ({
      indices: topKIndices(scores, k, exclude),
      fallback: { selector: FALLBACK_SELECTOR, reason },
      variant,
      ...(groundedBoxes?.length ? { groundedBoxes } : {}),
    });
    const texts = groundingTexts(request.stepText, o);
    if (!texts.length) return fallback(o.text === 'step' ? 'the step has no text to ground' : 'the step has no noun phrase to ground', `${this.grounder.name}; ${what}`);
    const found = await this.grounder.ground({
      texts,
      image,
      ...(request.pixels ? { pixels: request.pixels } : {}),
      ...(request.sideRuns ? { sideRuns: request.sideRuns } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    const variant = `${found.variant}; ${what}`;
    if (!found.boxes.length) return fallback(found.failure ?? 'the grounder found no box', variant);
    const chosen = patchesForBoxes(image, found.boxes, { k, exclude, scores, rule: o.patches, minCoverage: o.minCoverage });
    if (chosen.grounded === 0)
      return fallback(
        o.patches === 'covered' ? `the grounded boxes cover no selectable patch by at least ${o.minCoverage}` : 'the grounded boxes overlap no selectable patch',
        variant,
        found.boxes,
      );
    return { indices: chosen.indices, variant, groundedBoxes: found.boxes };
  }

  /** Release what the grounder loaded (a detector's sessions). */
  async dispose(): Promise<void> {
    await this.grounder.dispose?.();
  }
}

/**
 * Create the grounding selector from plain JSON options (defaults: {@link GROUNDING_DEFAULTS}).
 * Throws `OptionError` for bad options.
 */
export function createGroundingSelector(options: GroundingSelectorOptions = {}): GroundingSelector {
  return new GroundingSelector(options);
}
