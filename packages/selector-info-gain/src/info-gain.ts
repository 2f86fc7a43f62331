import {
  IcotError,
  SelectionError,
  throwIfAborted,
  type PatchSelection,
  type PatchSelectorV2,
  type SelectionFallback,
  type SelectionRequest,
  type SelectorRequirements,
  type SideRunContext,
  type StepInput,
} from '@icot/core';
import { readContextEnhancedAttention, topKIndices } from '@icot/selector-ads';
import { nextTokenEntropy } from './entropy.js';
import { regionSideFor, resolveInfoGainOptions, type InfoGainSelectorOptions, type ResolvedInfoGainOptions } from './options.js';
import { gridRegions } from './regions.js';

/** One candidate region as probed in one round. */
export interface ProbedCandidate {
  /** Index of the region in {@link gridRegions}'s list. */
  readonly region: number;
  /** How it became a candidate: among the N most attended regions, or among the M uniform draws. */
  readonly source: 'attention' | 'random';
  /** The patches it would add (not excluded, not chosen yet, at most the budget left), ascending. */
  readonly patches: readonly number[];
  /** Next-token entropy (nats) with the patches chosen so far and these inserted as one block. */
  readonly entropy: number;
  /** `entropyBefore - entropy`: the information gain. */
  readonly gain: number;
}

/** One greedy round: every candidate left, measured on top of what earlier rounds chose. */
export interface ProbeRound {
  /** Next-token entropy before this round's region: with nothing inserted (round 1) or with the earlier rounds' patches. */
  readonly entropyBefore: number;
  readonly candidates: readonly ProbedCandidate[];
  /** Index into `candidates` of the region chosen (the largest gain; ties to the earlier candidate). */
  readonly chosen: number;
}

/** Everything {@link probeInformationGain} did: the choice, each round's measurements, and how it measured. */
export interface InfoGainProbe {
  /** The chosen patches, ascending (at most k). */
  readonly indices: readonly number[];
  /** The patches each round added, in round order. */
  readonly regions: readonly (readonly number[])[];
  readonly rounds: readonly ProbeRound[];
  /** Side of the square regions, in patches. */
  readonly regionSize: number;
  /** Attention that ranked the candidates (`signal` also when context-enhanced attention had no room). */
  readonly attention: 'signal' | 'context-enhanced';
  /** How candidates were measured. */
  readonly sideRuns: 'batched' | 'sequential';
  /** What a selection reports as its variant. */
  readonly variant: string;
  /** Set when the context had no room to probe, and attention's top-k chose instead. */
  readonly fallback?: SelectionFallback;
  /** Number of side runs (forward passes of one block each) made. */
  readonly sideRunCount: number;
}

/** Insert `x` into the ascending array `into` (O(n)). */
function insertSorted(into: number[], x: number): void {
  let i = into.length;
  into.push(x);
  while (i > 0 && into[i - 1]! > x) {
    into[i] = into[i - 1]!;
    i--;
  }
  into[i] = x;
}

/** Union of two ascending arrays of distinct numbers, ascending. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out.push(a[i++]!);
    else if (i >= a.length || b[j]! < a[i]!) out.push(b[j++]!);
    else {
      out.push(a[i++]!);
      j++;
    }
  }
  return out;
}

/** Order by a score, larger first, NaN last, ties to the lower key. */
function byScoreDesc(score: (i: number) => number): (a: number, b: number) => number {
  return (a, b) => {
    const x = score(a);
    const y = score(b);
    const xs = Number.isNaN(x) ? -Infinity : x;
    const ys = Number.isNaN(y) ? -Infinity : y;
    return ys - xs || a - b;
  };
}

/** Measure the next-token entropy of each input as a continuation of the state: batched side runs (grouped by length) or one fork each. */
async function measure(context: SideRunContext, inputs: readonly StepInput[], mode: 'batched' | 'sequential', batchSize: number, signal: AbortSignal | undefined): Promise<number[]> {
  const entropies = new Array<number>(inputs.length);
  if (mode === 'sequential') {
    for (let i = 0; i < inputs.length; i++) {
      throwIfAborted(signal);
      const fork = context.fork();
      try {
        entropies[i] = nextTokenEntropy((await fork.step(inputs[i]!)).logits);
      } finally {
        fork.dispose();
      }
    }
    return entropies;
  }
  const groups = new Map<number, number[]>();
  inputs.forEach((input, i) => {
    const group = groups.get(input.positions.length);
    if (group) group.push(i);
    else groups.set(input.positions.length, [i]);
  });
  for (const members of groups.values())
    for (let start = 0; start < members.length; start += batchSize) {
      throwIfAborted(signal);
      const chunk = members.slice(start, start + batchSize);
      const outputs = await context.sideRuns(chunk.map((i) => inputs[i]!));
      chunk.forEach((i, j) => (entropies[i] = nextTokenEntropy(outputs[j]!.logits)));
    }
  return entropies;
}

/**
 * AIM-CoT's Active Visual Probing (arXiv 2509.25699v2), the measurement behind the info-gain
 * selector. The query image's patch grid (each tile's) is cut into `regionSize x regionSize`
 * regions; the candidates are the N regions with the most attention mass (over patches not
 * excluded) and M regions drawn uniformly from the others with `request.random`. Greedy rounds
 * then pick one region each: every candidate left is inserted, together with the patches earlier
 * rounds chose, as one block (`family.insertionBlock` at `sideRuns.position`, exactly what the
 * input decoder feeds) in a side run from the current state, and the region whose block gives the
 * lowest next-token entropy - the largest drop from the entropy before the round - is taken (the
 * paper's sequential greedy selection re-measures the rest on top of what is chosen). Rounds stop
 * after `rounds` (K), when k patches are chosen, or when no candidate is left; a region larger than
 * the budget left offers its most attended patches. Side runs go in batched forward passes where
 * `batching` allows, otherwise one fork each; the main cache is never touched.
 */
export async function probeInformationGain(request: SelectionRequest, options: InfoGainSelectorOptions | ResolvedInfoGainOptions = {}): Promise<InfoGainProbe> {
  const settings = 'context' in options ? (options as ResolvedInfoGainOptions) : resolveInfoGainOptions(options as InfoGainSelectorOptions);
  const { image, k, exclude, random, signal } = request;
  if (!request.scores) throw new IcotError('internal', 'The info-gain selector needs attention scores, but the request has none.', { hint: 'Declare requires.attention in the selector.' });
  if (request.scores.length !== image.patchCount)
    throw new SelectionError(`The info-gain selector got ${request.scores.length} scores for an image of ${image.patchCount} patches.`);
  if (!Number.isInteger(k) || k < 1) throw new SelectionError(`k must be an integer >= 1, got ${k}.`);
  if (k > image.patchCount) throw new SelectionError(`k = ${k} is larger than the image's ${image.patchCount} patches.`, { hint: `Use k <= ${image.patchCount}.` });
  const context = request.sideRuns;
  if (!context)
    throw new IcotError('internal', 'The info-gain selector needs side runs (forks or batched side runs), but the request has none.', { hint: 'Declare requires.fork or requires.batchedSideRuns in the selector.' });
  const { model } = context;
  const family = model.family;
  const mode = settings.batching === 'auto' ? (model.capabilities.batchedSideRuns ? 'batched' : 'sequential') : settings.batching;

  let scores: Float32Array = request.scores;
  let attention: InfoGainProbe['attention'] = 'signal';
  let attentionLabel = 'signal attention';
  if (settings.attention === 'context-enhanced') {
    const enhanced = await readContextEnhancedAttention(request, settings.context);
    if (enhanced) {
      scores = enhanced.scores;
      attention = 'context-enhanced';
      attentionLabel = 'context-enhanced attention';
    } else attentionLabel = 'signal attention (no room in the context for a description)';
  }
  const variant = `${attentionLabel}, ${mode === 'batched' ? 'batched side runs' : 'sequential forks'}`;
  const regionSize = regionSideFor(k, settings.regionSize);
  const base = { regionSize, attention, sideRuns: mode, variant } as const;

  // the candidates: top-N regions by attention mass over selectable patches, then M uniform draws from the rest
  const regions = gridRegions(image, regionSize);
  const mass = new Float64Array(regions.length);
  const live: number[] = [];
  regions.forEach((region, r) => {
    let any = false;
    for (const p of region.patches)
      if (!exclude.has(p)) {
        mass[r] = mass[r]! + scores[p]!;
        any = true;
      }
    if (any) live.push(r);
  });
  if (live.length === 0) return { ...base, indices: [], regions: [], rounds: [], sideRunCount: 0 };
  const ranked = [...live].sort(byScoreDesc((r) => mass[r]!));
  const top = ranked.slice(0, settings.attentionCandidates);
  const rest = ranked.slice(top.length).sort((a, b) => a - b);
  const draws = Math.min(settings.randomCandidates, rest.length);
  for (let i = 0; i < draws; i++) {
    const j = i + random.int(rest.length - i);
    [rest[i], rest[j]] = [rest[j]!, rest[i]!];
  }
  const pool: { region: number; source: 'attention' | 'random' }[] = [
    ...top.map((region) => ({ region, source: 'attention' as const })),
    ...rest.slice(0, draws).map((region) => ({ region, source: 'random' as const })),
  ];

  const blockOf = (patches: readonly number[]): StepInput => {
    const block = family.insertionBlock({ image, patches, start: context.position, layout: settings.layout });
    return { segments: block.segments, positions: block.positions, signal };
  };

  // a side run adds a block of up to k patches: where the context cannot hold it, attention's top-k chooses (and the loop will find no room either)
  if (model.maxContextTokens !== undefined && model.capabilities.fork) {
    const fork = context.fork();
    const cacheLength = fork.length;
    fork.dispose();
    const widest = topKIndices(scores, k, exclude);
    if (cacheLength + blockOf(widest).positions.length > model.maxContextTokens)
      return {
        ...base,
        indices: widest,
        regions: [],
        rounds: [],
        sideRunCount: 0,
        fallback: { selector: 'ads', reason: `the model's context (${model.maxContextTokens} tokens) has no room to probe an insertion of ${widest.length} patches` },
      };
  }

  const byScore = byScoreDesc((p) => scores[p]!);
  const chosen: number[] = [];
  const chosenSet = new Set<number>();
  const added: number[][] = [];
  const rounds: ProbeRound[] = [];
  let sideRunCount = 0;
  let entropyBefore = nextTokenEntropy(context.logits);
  const maxRounds = settings.rounds ?? Infinity;
  while (chosen.length < k && rounds.length < maxRounds && pool.length > 0) {
    throwIfAborted(signal);
    const budget = k - chosen.length;
    const offers: { at: number; patches: number[] }[] = [];
    for (let at = 0; at < pool.length; at++) {
      let patches = regions[pool[at]!.region]!.patches.filter((p) => !exclude.has(p) && !chosenSet.has(p));
      if (patches.length > budget) patches = [...patches].sort(byScore).slice(0, budget).sort((a, b) => a - b);
      if (patches.length) offers.push({ at, patches });
    }
    if (offers.length === 0) break;
    const entropies = await measure(context, offers.map((offer) => blockOf(mergeSorted(chosen, offer.patches))), mode, settings.batchSize, signal);
    sideRunCount += offers.length;
    let best = -1;
    for (let i = 0; i < offers.length; i++) {
      const h = entropies[i]!;
      if (!Number.isNaN(h) && (best < 0 || h < entropies[best]!)) best = i;
    }
    if (best < 0)
      throw new SelectionError(`Every side run of the info-gain selector returned logits without a finite entropy (NaN) on model '${model.modelId}'.`, {
        hint: 'Check the model (its logits are NaN after an insertion), or use another selector.',
      });
    const candidates: ProbedCandidate[] = offers.map((offer, i) => ({
      region: pool[offer.at]!.region,
      source: pool[offer.at]!.source,
      patches: offer.patches,
      entropy: entropies[i]!,
      gain: entropyBefore - entropies[i]!,
    }));
    rounds.push({ entropyBefore, candidates, chosen: best });
    const winner = offers[best]!;
    for (const p of winner.patches) {
      insertSorted(chosen, p);
      chosenSet.add(p);
    }
    added.push(winner.patches);
    entropyBefore = entropies[best]!;
    // the winner leaves the pool, and so do candidates with nothing left to add
    const offered = new Set(offers.map((offer) => offer.at));
    for (let at = pool.length - 1; at >= 0; at--) if (at === winner.at || !offered.has(at)) pool.splice(at, 1);
  }
  return { ...base, indices: chosen, regions: added, rounds, sideRunCount };
}

/**
 * The info-gain selector (AIM-CoT's Active Visual Probing): picks regions of the query image by
 * the drop in next-token entropy their insertion gives, measured in side runs; see
 * {@link probeInformationGain}. Every selection reports its `variant` (the attention that ranked the
 * candidates, and batched side runs or sequential forks) and the regions it chose.
 */
export class InfoGainSelector implements PatchSelectorV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'info-gain';
  readonly requires: SelectorRequirements;
  /** The options with their defaults. */
  readonly options: ResolvedInfoGainOptions;

  constructor(options: InfoGainSelectorOptions = {}) {
    this.options = resolveInfoGainOptions(options);
    const { batching, attention } = this.options;
    this.requires =
      batching === 'batched'
        ? { attention: true, batchedSideRuns: true, ...(attention === 'context-enhanced' ? { fork: true } : {}) }
        : { attention: true, fork: true };
  }

  async select(request: SelectionRequest): Promise<PatchSelection> {
    const probe = await probeInformationGain(request, this.options);
    return {
      indices: probe.indices,
      variant: probe.variant,
      ...(probe.regions.length ? { regions: probe.regions } : {}),
      ...(probe.fallback ? { fallback: probe.fallback } : {}),
    };
  }
}

/**
 * Create the info-gain selector (AIM-CoT's Active Visual Probing, arXiv 2509.25699) from plain
 * JSON options; throws an `OptionError` naming a bad or unknown option.
 */
export function createInfoGainSelector(options: InfoGainSelectorOptions = {}): InfoGainSelector {
  return new InfoGainSelector(options);
}
