import { OptionError, type PatchLayout } from '@icot/core';
import { checkAttentionSource, resolveContextSettings, type AttentionSource, type ContextEnhancedAttentionSettings, type ResolvedContextSettings } from '@icot/selector-ads';

/** How candidates are probed: `batched` side runs (one forward pass per batch), `sequential` forks (one pass each), or `auto`. */
export type InfoGainBatching = 'auto' | 'batched' | 'sequential';

/**
 * Options of {@link createInfoGainSelector}: plain JSON, every one optional. The structure (N
 * attention candidates, M uniform ones, K greedy rounds over regions of the patch grid) is AIM-CoT's
 * Active Visual Probing (arXiv 2509.25699v2); the default numbers are icot's (see the README).
 */
export interface InfoGainSelectorOptions extends ContextEnhancedAttentionSettings {
  /** N: the regions with the most attention mass that become candidates (default 8; >= 0). */
  readonly attentionCandidates?: number;
  /** M: regions drawn uniformly, with the run's seeded random source, from the other regions (default 8; >= 0). */
  readonly randomCandidates?: number;
  /**
   * K: most greedy rounds, one region picked per round (default: as many as it takes to choose k
   * patches). The patches chosen never exceed the run's k.
   */
  readonly rounds?: number;
  /** Side of a square region, in patches of the query image's grid (default: the largest s with 4 * s * s <= k, at least 1). */
  readonly regionSize?: number;
  /**
   * Attention that ranks the candidates: `signal` (default; the signal token's row) or
   * `context-enhanced` (AIM-CoT's CAG, read on a fork after a greedy description: see
   * `@icot/selector-ads`). The `description*` and `readoutText` options apply to `context-enhanced`.
   */
  readonly attention?: AttentionSource;
  /**
   * `auto` (default: batched side runs where the model has them, sequential forks otherwise),
   * `batched` (needs the `batchedSideRuns` capability) or `sequential` (needs `fork`).
   */
  readonly batching?: InfoGainBatching;
  /** Most side runs in one batched forward pass (default 16; each row costs one copy of the cache). */
  readonly batchSize?: number;
  /** Position layout of the probed blocks; use the run's decoder layout (default `grid`, the input decoder's). */
  readonly layout?: PatchLayout;
}

/** {@link InfoGainSelectorOptions} with every default filled in (`rounds` and `regionSize` stay undefined when automatic). */
export interface ResolvedInfoGainOptions {
  readonly attentionCandidates: number;
  readonly randomCandidates: number;
  readonly rounds: number | undefined;
  readonly regionSize: number | undefined;
  readonly attention: AttentionSource;
  readonly context: ResolvedContextSettings;
  readonly batching: InfoGainBatching;
  readonly batchSize: number;
  readonly layout: PatchLayout;
}

/** The defaults of {@link InfoGainSelectorOptions} (automatic ones left out). */
export const INFO_GAIN_DEFAULTS = {
  attentionCandidates: 8,
  randomCandidates: 8,
  attention: 'signal',
  batching: 'auto',
  batchSize: 16,
  layout: 'grid',
} as const;

const KNOWN = [
  'attentionCandidates',
  'randomCandidates',
  'rounds',
  'regionSize',
  'attention',
  'batching',
  'batchSize',
  'layout',
  'descriptionPrompt',
  'descriptionTokens',
  'readoutText',
] as const;

const WHO = 'info-gain selector';

function integer(name: string, value: unknown, fallback: number | undefined, min: number, max: number, hint: string): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new OptionError(`${WHO}: ${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}.`, { hint });
  return value;
}

/** Check the options of the info-gain selector and fill in the defaults; throws {@link OptionError} naming a bad or unknown option. */
export function resolveInfoGainOptions(options: InfoGainSelectorOptions = {}): ResolvedInfoGainOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new OptionError(`${WHO}: options must be an object, got ${JSON.stringify(options)}.`, { hint: 'Pass e.g. { rounds: 4 }, or nothing for the defaults.' });
  const unknown = Object.keys(options).filter((key) => !(KNOWN as readonly string[]).includes(key));
  if (unknown.length)
    throw new OptionError(`${WHO}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}.`, { hint: `Known options: ${KNOWN.join(', ')}.` });
  const attentionCandidates = integer('attentionCandidates', options.attentionCandidates, INFO_GAIN_DEFAULTS.attentionCandidates, 0, 4096, 'Use e.g. 8.')!;
  const randomCandidates = integer('randomCandidates', options.randomCandidates, INFO_GAIN_DEFAULTS.randomCandidates, 0, 4096, 'Use e.g. 8.')!;
  if (attentionCandidates + randomCandidates === 0)
    throw new OptionError(`${WHO}: attentionCandidates and randomCandidates are both 0, so there is nothing to probe.`, { hint: 'Set at least one of them to 1 or more.' });
  const rounds = integer('rounds', options.rounds, undefined, 1, 4096, 'Use e.g. 4, or leave it out to fill k.');
  const regionSize = integer('regionSize', options.regionSize, undefined, 1, 1024, 'Use e.g. 2 (2 x 2 patches), or leave it out for the automatic size.');
  const batchSize = integer('batchSize', options.batchSize, INFO_GAIN_DEFAULTS.batchSize, 1, 1024, 'Use e.g. 16.')!;
  const batching = options.batching ?? INFO_GAIN_DEFAULTS.batching;
  if (batching !== 'auto' && batching !== 'batched' && batching !== 'sequential')
    throw new OptionError(`${WHO}: unknown batching ${JSON.stringify(batching)}.`, { hint: "Use 'auto', 'batched' or 'sequential'." });
  const layout = options.layout ?? INFO_GAIN_DEFAULTS.layout;
  if (layout !== 'grid' && layout !== 'source')
    throw new OptionError(`${WHO}: unknown layout ${JSON.stringify(layout)}.`, { hint: "Use 'grid' (the input decoder's default) or 'source', as the run's decoder." });
  const attention = checkAttentionSource(options.attention, WHO);
  const context = resolveContextSettings(options, WHO);
  return { attentionCandidates, randomCandidates, rounds, regionSize, attention, context, batching, batchSize, layout };
}

/** The region side the selector uses for `k` patches: `regionSize`, or the largest s with 4 * s * s <= k (at least 1). */
export function regionSideFor(k: number, regionSize: number | undefined): number {
  return regionSize ?? Math.max(1, Math.floor(Math.sqrt(k / 4)));
}
