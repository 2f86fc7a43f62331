import { gatherByCacheIndex, IcotError, OptionError, type SelectionRequest, type StepOutput } from '@icot/core';

/**
 * Where a selector reads the attention it ranks patches by:
 * - `signal`: the signal token's attention row, as the loop hands it over (the ICoT paper's);
 * - `context-enhanced`: AIM-CoT's Context-enhanced Attention-map Generation (CAG, arXiv 2509.25699):
 *   the model first describes the image with the question in mind, and attention is read with that
 *   description in context (see {@link readContextEnhancedAttention}).
 */
export type AttentionSource = 'signal' | 'context-enhanced';

/** The attention sources, for option checks and help texts. */
export const ATTENTION_SOURCES: readonly AttentionSource[] = ['signal', 'context-enhanced'];

/** Settings of context-enhanced attention (all optional; plain JSON). */
export interface ContextEnhancedAttentionSettings {
  /**
   * Text fed on the fork after the step, asking the model to describe what the question needs
   * (default {@link DEFAULT_DESCRIPTION_PROMPT}). AIM-CoT's own prompt is not reproduced here.
   */
  readonly descriptionPrompt?: string;
  /** Most description tokens, generated greedily on the fork (default 32; 1..1024). */
  readonly descriptionTokens?: number;
  /**
   * Text fed after the description; the attention row of its last token over the query image is
   * the context-enhanced attention (default `"\n"`, the paper's signal token for Qwen2-VL).
   */
  readonly readoutText?: string;
}

/** The default {@link ContextEnhancedAttentionSettings.descriptionPrompt}: a description for the question, with a guard against guessing. */
export const DEFAULT_DESCRIPTION_PROMPT = '\nFirst, describe the parts of the image that matter for the question. Say only what is clearly visible; do not guess:\n';
/** The default {@link ContextEnhancedAttentionSettings.descriptionTokens}. */
export const DEFAULT_DESCRIPTION_TOKENS = 32;
/** The default {@link ContextEnhancedAttentionSettings.readoutText}. */
export const DEFAULT_READOUT_TEXT = '\n';

/** Context-enhanced attention settings with every default filled in. */
export type ResolvedContextSettings = Required<ContextEnhancedAttentionSettings>;

/**
 * Check the context-enhanced attention settings (from `options`, whose other keys are ignored)
 * and fill in the defaults; throws {@link OptionError} naming a bad value.
 */
export function resolveContextSettings(options: ContextEnhancedAttentionSettings, who: string): ResolvedContextSettings {
  const { descriptionPrompt = DEFAULT_DESCRIPTION_PROMPT, descriptionTokens = DEFAULT_DESCRIPTION_TOKENS, readoutText = DEFAULT_READOUT_TEXT } = options;
  if (typeof descriptionPrompt !== 'string')
    throw new OptionError(`${who}: descriptionPrompt must be a string, got ${JSON.stringify(descriptionPrompt)}.`, { hint: 'Leave it out for the default prompt.' });
  if (!Number.isInteger(descriptionTokens) || descriptionTokens < 1 || descriptionTokens > 1024)
    throw new OptionError(`${who}: descriptionTokens must be an integer in 1..1024, got ${JSON.stringify(descriptionTokens)}.`, { hint: `Use e.g. ${DEFAULT_DESCRIPTION_TOKENS}.` });
  if (typeof readoutText !== 'string' || readoutText.length === 0)
    throw new OptionError(`${who}: readoutText must be a non-empty string, got ${JSON.stringify(readoutText)}.`, { hint: 'Use "\\n" (the default).' });
  return { descriptionPrompt, descriptionTokens, readoutText };
}

/** Check an attention source option; throws {@link OptionError}. */
export function checkAttentionSource(value: unknown, who: string): AttentionSource {
  if (value === undefined) return 'signal';
  if (typeof value !== 'string' || !(ATTENTION_SOURCES as readonly string[]).includes(value))
    throw new OptionError(`${who}: unknown attention source ${JSON.stringify(value)}.`, { hint: `Use one of: ${ATTENTION_SOURCES.join(', ')}.` });
  return value as AttentionSource;
}

/** What {@link readContextEnhancedAttention} read. */
export interface ContextEnhancedAttention {
  /** Attention mass of the readout token on each patch of the query image (patch order), with the description in context. */
  readonly scores: Float32Array;
  /** The description's token ids, as generated on the fork. */
  readonly description: readonly number[];
}

/** Index of the largest logit that is not suppressed (ties to the lower id). O(V), no spread. */
function greedyToken(logits: Float32Array, suppressed: ReadonlySet<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let v = 0; v < logits.length; v++) {
    const x = logits[v]!;
    if (x > bestValue && !suppressed.has(v)) {
      bestValue = x;
      best = v;
    }
  }
  return best;
}

/**
 * AIM-CoT's context-enhanced attention, implemented through the selection context's fork (the
 * selection request carries the main run's state, not its prompt, so the description cannot go
 * into the prompt the way the paper puts it there once before the answer):
 * on a fork of the state at the signal token, feed `descriptionPrompt`, generate up to
 * `descriptionTokens` greedily (stopping at an end-of-sequence token, never a suppressed one),
 * then feed `readoutText` and read its last token's attention over the query image. The main cache
 * is untouched; the fork is disposed. Costs one forward pass per description token.
 *
 * Returns undefined when the model's context has no room for the prompt, one description token and
 * the readout (the caller then uses the signal token's attention and says so). Needs
 * `request.sideRuns` (the `fork` requirement); throws an {@link IcotError} without it.
 */
export async function readContextEnhancedAttention(request: SelectionRequest, settings: ResolvedContextSettings): Promise<ContextEnhancedAttention | undefined> {
  const context = request.sideRuns;
  if (!context) throw new IcotError('internal', 'Context-enhanced attention needs side runs (a fork), but the selection request has none.', { hint: "Declare requires.fork in the selector." });
  const { model } = context;
  const family = model.family;
  const promptIds = model.tokenizer.encode(settings.descriptionPrompt);
  const readoutIds = model.tokenizer.encode(settings.readoutText);
  if (readoutIds.length === 0) throw new OptionError(`readoutText ${JSON.stringify(settings.readoutText)} encodes to no tokens for model '${model.modelId}'.`, { hint: 'Use "\\n".' });
  const fork = context.fork();
  try {
    let budget = settings.descriptionTokens;
    if (model.maxContextTokens !== undefined) budget = Math.min(budget, model.maxContextTokens - fork.length - promptIds.length - readoutIds.length);
    if (budget < 1) return undefined;
    let position = context.position;
    let out: StepOutput = { logits: context.logits };
    if (promptIds.length) {
      out = await fork.step({ segments: [{ type: 'tokens', ids: promptIds }], positions: family.textPositions(position, promptIds.length), signal: request.signal });
      position += promptIds.length;
    }
    const suppressed = new Set(family.suppressedTokenIds);
    const eos = new Set(model.eosTokenIds);
    const description: number[] = [];
    for (let i = 0; i < budget; i++) {
      const token = greedyToken(out.logits, suppressed);
      if (token < 0 || eos.has(token)) break;
      description.push(token);
      out = await fork.step({ segments: [{ type: 'tokens', ids: [token] }], positions: family.textPositions(position, 1), signal: request.signal });
      position += 1;
    }
    const readout = await fork.step({ segments: [{ type: 'tokens', ids: readoutIds }], positions: family.textPositions(position, readoutIds.length), attention: true, signal: request.signal });
    if (!readout.attention) throw new IcotError('internal', `Backend '${model.provider}' returned no attention row although it was asked for one.`);
    return { scores: gatherByCacheIndex(readout.attention, request.cacheIndices), description };
  } finally {
    fork.dispose();
  }
}
