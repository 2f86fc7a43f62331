import { checkOptionKeys, IcotError, SelectionError, type PatchSelection, type PatchSelectorV2, type SelectionRequest, type SelectorRequirements } from '@icot/core';
import {
  checkAttentionSource,
  readContextEnhancedAttention,
  resolveContextSettings,
  type AttentionSource,
  type ContextEnhancedAttentionSettings,
  type ResolvedContextSettings,
} from './context-attention.js';

/**
 * Indices of the `k` largest `scores`, skipping `exclude`, returned ascending. Ties go to the
 * lower index. Runs in O(n log k) without sorting all scores.
 */
export function topKIndices(scores: ArrayLike<number>, k: number, exclude: ReadonlySet<number> = new Set()): number[] {
  // A min-heap of the best k (value, index) pairs seen so far.
  const heapValue: number[] = [];
  const heapIndex: number[] = [];
  const worse = (a: number, b: number): boolean =>
    heapValue[a]! < heapValue[b]! || (heapValue[a] === heapValue[b] && heapIndex[a]! > heapIndex[b]!);
  const swap = (a: number, b: number): void => {
    [heapValue[a], heapValue[b]] = [heapValue[b]!, heapValue[a]!];
    [heapIndex[a], heapIndex[b]] = [heapIndex[b]!, heapIndex[a]!];
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heapValue.length && worse(l, m)) m = l;
      if (r < heapValue.length && worse(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    if (exclude.has(i)) continue;
    const v = scores[i]!;
    if (Number.isNaN(v)) continue;
    if (heapValue.length < k) {
      heapValue.push(v);
      heapIndex.push(i);
      for (let c = heapValue.length - 1; c > 0; ) {
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (k > 0 && v > heapValue[0]!) {
      heapValue[0] = v;
      heapIndex[0] = i;
      siftDown(0);
    }
  }
  return heapIndex.sort((a, b) => a - b);
}

/** Settings of {@link createAdsSelector} (plain JSON). */
export interface AdsSelectorSettings extends ContextEnhancedAttentionSettings {
  /** Name reported in results (default `ads`). */
  readonly name?: string;
  /**
   * Which attention ranks the patches: `signal` (default, the ICoT paper's: the signal token's row)
   * or `context-enhanced` (AIM-CoT's CAG: read on a fork after the model describes the image for
   * the question; needs the `fork` capability; the insertion's `variant` says so). The
   * `description*` and `readoutText` settings apply to `context-enhanced` only.
   */
  readonly attention?: AttentionSource;
}

/** Check the scores and k of a request as ADS reads them. */
function checkRequest(request: SelectionRequest): Float32Array {
  const { scores, image, k } = request;
  if (!scores) throw new IcotError('internal', 'ADS needs attention scores, but the request has none.');
  if (scores.length !== image.patchCount)
    throw new SelectionError(`ADS got ${scores.length} scores for an image of ${image.patchCount} patches.`);
  if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
  if (k > image.patchCount)
    throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
  return scores;
}

/**
 * Attention-driven Selection: top-k patches of the query image by the signal token's attention
 * (mean over layers and heads, as the backend reports it, read through the image's patch map: on a
 * tiled image, over every tile's tokens and the global view's), indices ascending. Patches in
 * `request.exclude` are skipped; when fewer than k remain, all remaining ones are returned.
 */
export class AdsSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly requires: SelectorRequirements = { attention: true };
  readonly name: string;

  constructor(settings: AdsSelectorSettings = {}) {
    this.name = settings.name ?? 'ads';
  }

  select(request: SelectionRequest): PatchSelection {
    const scores = checkRequest(request);
    return { indices: topKIndices(scores, request.k, request.exclude) };
  }
}

/**
 * ADS on context-enhanced attention (AIM-CoT's CAG, arXiv 2509.25699): the top-k patches by the
 * attention read on a fork after the model describes the image for the question
 * ({@link readContextEnhancedAttention}); the main cache is untouched. Each selection reports
 * `variant: 'context-enhanced attention'`; when the model's context has no room for the
 * description, it ranks by the signal token's attention and its variant says so.
 */
export class ContextEnhancedAdsSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly requires: SelectorRequirements = { attention: true, fork: true };
  readonly name: string;
  readonly settings: ResolvedContextSettings;

  constructor(settings: AdsSelectorSettings = {}) {
    this.name = settings.name ?? 'ads';
    this.settings = resolveContextSettings(settings, 'ADS');
  }

  async select(request: SelectionRequest): Promise<PatchSelection> {
    const scores = checkRequest(request);
    if (!request.sideRuns)
      throw new IcotError('internal', 'ADS with context-enhanced attention needs side runs (a fork), but the request has none.', { hint: 'Declare requires.fork in the selector.' });
    const enhanced = await readContextEnhancedAttention(request, this.settings);
    if (!enhanced) return { indices: topKIndices(scores, request.k, request.exclude), variant: 'signal attention (no room in the context for a description)' };
    return { indices: topKIndices(enhanced.scores, request.k, request.exclude), variant: 'context-enhanced attention' };
  }
}

/** The settings {@link createAdsSelector} knows. */
const ADS_SETTING_NAMES = ['name', 'attention', 'descriptionPrompt', 'descriptionTokens', 'readoutText'] as const;

/**
 * Create the paper's Attention-driven Selection selector; `attention: 'context-enhanced'` gives
 * AIM-CoT's context-enhanced variant ({@link ContextEnhancedAdsSelector}). Throws an `OptionError`
 * on a bad setting.
 */
export function createAdsSelector(settings?: AdsSelectorSettings & { readonly attention?: 'signal' }): AdsSelector;
export function createAdsSelector(settings: AdsSelectorSettings & { readonly attention: 'context-enhanced' }): ContextEnhancedAdsSelector;
export function createAdsSelector(settings?: AdsSelectorSettings): AdsSelector | ContextEnhancedAdsSelector;
export function createAdsSelector(settings: AdsSelectorSettings = {}): AdsSelector | ContextEnhancedAdsSelector {
  checkOptionKeys('ads selector', settings, ADS_SETTING_NAMES); // a misspelt setting fails instead of being ignored
  const attention = checkAttentionSource(settings.attention, 'ADS');
  if (attention === 'context-enhanced') return new ContextEnhancedAdsSelector(settings);
  resolveContextSettings(settings, 'ADS'); // bad description settings are refused on either variant
  return new AdsSelector(settings);
}
