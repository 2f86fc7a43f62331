import { checkMinTokens, checkOptionKeys, insertionSpacing, type LayerSelection, OptionError, optionOr, showOptionValue as shown, type TriggerV2 } from '@icot/core';

/**
 * Options of {@link createAttentionShiftTrigger}: plain JSON (a run description can carry them).
 * Every field is optional; the defaults are {@link ATTENTION_SHIFT_DEFAULTS}.
 */
export interface AttentionShiftTriggerOptions {
  /**
   * Fire when the attention mass on the query image rises by more than this from one generated
   * token to the next (a fraction of the attention, so in [0, 1)). Default 0.5, AIM-CoT's value
   * for M3CoT; the paper uses 0.2 for ScienceQA and LLaVA-W.
   */
  readonly delta?: number;
  /**
   * Decoder layers whose attention is averaged (all heads of each): `{ last: n }`, a list of layer
   * indices, or `'all'`. Default `{ last: 3 }`, AIM-CoT's last 3 layers. The model must read
   * attention from these layers (a decoder with fewer layers than `last` is refused before the run).
   */
  readonly layers?: LayerSelection;
  /**
   * Generated tokens before the first insertion may happen (an integer >= 1; 1 = no minimum, as
   * in the paper). Default 16 (icot's choice; see the README).
   */
  readonly minTokensBeforeFirst?: number;
  /**
   * Generated tokens after an insertion before the next one may happen (an integer >= 1; 1 = no
   * minimum, as in the paper). Default 16 (icot's choice; see the README).
   */
  readonly minTokensBetween?: number;
}

/** The default options: AIM-CoT's delta (M3CoT) and layers, and icot's minimum spacing. */
export const ATTENTION_SHIFT_DEFAULTS = {
  delta: 0.5,
  layers: { last: 3 },
  minTokensBeforeFirst: 16,
  minTokensBetween: 16,
} as const satisfies Required<AttentionShiftTriggerOptions>;

const OPTION_KEYS = Object.keys(ATTENTION_SHIFT_DEFAULTS);

/** Check a layer selection's form (the loop checks the indices against the model). */
function checkLayers(layers: unknown): LayerSelection {
  const hint = "Use { last: 3 } (AIM-CoT), a list of layer indices such as [25, 26, 27], or 'all'.";
  if (layers === 'all') return 'all';
  if (Array.isArray(layers)) {
    if (layers.length === 0) throw new OptionError('layers is an empty list.', { hint });
    for (const layer of layers as unknown[])
      if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 0) throw new OptionError(`layers has ${shown(layer)}, which is not a layer index (an integer >= 0).`, { hint });
    if (new Set(layers).size !== layers.length) throw new OptionError(`layers lists a layer twice: ${JSON.stringify(layers)}.`, { hint });
    return [...(layers as number[])];
  }
  if (layers !== null && typeof layers === 'object' && Object.keys(layers).length === 1 && 'last' in layers) {
    const last = (layers as { last: unknown }).last;
    if (typeof last === 'number' && Number.isInteger(last) && last >= 1) return { last };
    throw new OptionError(`layers.last must be an integer >= 1, got ${shown(last)}.`, { hint });
  }
  throw new OptionError(`layers must be { last: n }, a list of layer indices or 'all', got ${shown(layers)}.`, { hint });
}

function describeLayers(layers: LayerSelection): string {
  if (layers === 'all') return 'all';
  if ('last' in layers) return `last${layers.last}`;
  return `[${layers.join(',')}]`;
}

/**
 * AIM-CoT's Dynamic Attention-shift Trigger (arXiv 2509.25699): fire when the attention on the
 * query image, averaged over the chosen decoder layers (the last 3 by default) and their heads,
 * rises by more than `delta` from one generated token to the next. The attention is the row of
 * the forward pass each token's distribution came from (the loop's `imageAttention` signal: the
 * summed attention weights on the query image's patches, a fraction of the whole row). An
 * insertion follows the token the trigger fired on; `minTokensBeforeFirst` and
 * `minTokensBetween` keep insertions apart (icot's addition: inserting before any text is a
 * known way ICoT ports collapse).
 *
 * Throws {@link OptionError} for options that are not of the documented form.
 */
export function createAttentionShiftTrigger(options: AttentionShiftTriggerOptions = {}): TriggerV2 {
  const given = checkOptionKeys('attention-shift trigger', options, OPTION_KEYS);
  const delta = optionOr(given, 'delta', ATTENTION_SHIFT_DEFAULTS.delta);
  if (typeof delta !== 'number' || !(delta >= 0 && delta < 1))
    throw new OptionError(`delta must be a number in [0, 1), got ${shown(delta)}.`, {
      hint: 'It is a rise of the attention fraction on the image in one step: AIM-CoT uses 0.5 (M3CoT) and 0.2 (ScienceQA, LLaVA-W).',
    });
  const layers = checkLayers(optionOr(given, 'layers', ATTENTION_SHIFT_DEFAULTS.layers));
  const minTokensBeforeFirst = checkMinTokens('minTokensBeforeFirst', optionOr(given, 'minTokensBeforeFirst', ATTENTION_SHIFT_DEFAULTS.minTokensBeforeFirst));
  const minTokensBetween = checkMinTokens('minTokensBetween', optionOr(given, 'minTokensBetween', ATTENTION_SHIFT_DEFAULTS.minTokensBetween));
  return {
    specificationVersion: 'v2',
    name: `attention-shift(delta=${delta},layers=${describeLayers(layers)},first=${minTokensBeforeFirst},gap=${minTokensBetween})`,
    signals: { imageAttention: { layers } },
    start() {
      const spaced = insertionSpacing(minTokensBeforeFirst, minTokensBetween);
      /** Image attention of the previous token's pass (undefined: none, e.g. after a KV insertion that fed nothing). */
      let previous: number | undefined;
      return {
        onToken(context) {
          const allowed = spaced(context);
          const now = context.signals.imageAttention;
          const fire = allowed && now !== undefined && previous !== undefined && now - previous > delta;
          previous = now;
          return fire;
        },
      };
    },
  };
}
