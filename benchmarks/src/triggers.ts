import { createSignalTrigger, streamICoT, type ICoTResult, type PromptInput, type TriggerV2, type VisionLanguageModelV2 } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createAttentionShiftTrigger, type AttentionShiftTriggerOptions } from '@icot/trigger-attention-shift';
import { createProbabilityGapTrigger } from '@icot/trigger-probability-gap';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** Settings of {@link triggerStepCost}. */
export interface TriggerStepCostSettings {
  readonly label: string;
  readonly model: VisionLanguageModelV2;
  readonly prompt: PromptInput;
  /** Layers the attention-shift trigger reads (AIM-CoT: the last 3; a smaller model may have fewer). */
  readonly attentionLayers: AttentionShiftTriggerOptions['layers'];
  readonly maxNewTokens: number;
  readonly rounds: number;
  /** Prefix of the row names (e.g. `demo-`). */
  readonly rowPrefix: string;
}

/** Never reached: a trigger with this minimum does all its per-step work and never fires. */
const NEVER = 1_000_000;

/** One trigger under test. */
interface Variant {
  readonly name: string;
  readonly row: string;
  readonly trigger: () => TriggerV2;
  /** Duration of each decode step, round after round (steps in token order). */
  readonly steps: number[];
  tokens?: string;
}

/**
 * The per-step cost of each trigger relative to the signal trigger on the same model: the whole
 * decode step (sampling, the per-step signals the trigger asks for - the attention of the chosen
 * layers fetched from the decoder and summed over the image, or one pass over the vocabulary for
 * the probability gap - the trigger's decision and the forward pass). Every trigger is set so that
 * it never fires (insertions on, so the loop computes its signals), so all decode the same greedy
 * tokens at the same cache lengths. The runs advance in lockstep, one token of each in turn
 * (rotating the order every round), and each step is timed inside its own generator: load from
 * other processes hits the three alike, and each step is compared with the signal trigger's step
 * at the same position.
 */
export async function triggerStepCost(settings: TriggerStepCostSettings): Promise<SectionResult> {
  const variants: Variant[] = [
    { name: 'signal (newline every 2nd; reads no signal)', row: 'signal', trigger: () => createSignalTrigger({ signal: 'newline', every: NEVER }), steps: [] },
    {
      name: `attention-shift (imageAttention, layers ${JSON.stringify(settings.attentionLayers)})`,
      row: 'attention-shift',
      trigger: () => createAttentionShiftTrigger({ layers: settings.attentionLayers, minTokensBeforeFirst: NEVER }),
      steps: [],
    },
    { name: 'probability-gap (probabilityGap)', row: 'probability-gap', trigger: () => createProbabilityGapTrigger({ minTokensBeforeFirst: NEVER }), steps: [] },
  ];
  const round = async (order: readonly Variant[], record: boolean): Promise<void> => {
    const runs = order.map((variant) => ({
      variant,
      stream: streamICoT({
        model: settings.model,
        prompt: settings.prompt,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: variant.trigger(),
        maxInsertions: 3,
        maxNewTokens: settings.maxNewTokens,
      }),
      steps: [] as number[],
      elapsed: 0,
      tokens: 0,
      result: undefined as ICoTResult | undefined,
    }));
    while (runs.some((r) => !r.result))
      for (const run of runs) {
        // advance this run to its next token (or its end), timing only its own work
        while (!run.result) {
          const t0 = performance.now();
          const next = await run.stream.next();
          run.elapsed += performance.now() - t0;
          if (next.done) run.result = next.value;
          else if (next.value.type === 'token') {
            if (run.tokens > 0) run.steps.push(run.elapsed); // the first token follows the prefill
            run.tokens += 1;
            run.elapsed = 0;
            break;
          }
        }
      }
    for (const { variant, result, steps } of runs) {
      if (result!.insertions.length) throw new Error(`trigger ${variant.row} inserted: the benchmark compares steps without insertions`);
      const tokens = result!.tokens.join();
      if (variant.tokens !== undefined && variant.tokens !== tokens) throw new Error(`trigger ${variant.row} decoded other tokens than before`);
      variant.tokens = tokens;
      if (record) variant.steps.push(...steps);
    }
  };
  await round(variants, false); // warm-up
  for (let r = 0; r < settings.rounds; r++) await round([...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)], true);
  if (new Set(variants.map((v) => v.tokens)).size !== 1) throw new Error('the triggers decoded different tokens: their steps are not comparable');
  const signal = variants[0]!;
  /** Median over steps of (this trigger's step / the signal trigger's step at the same position of the same round). */
  const pairedRatio = (v: Variant) => median(v.steps.map((ms, i) => ms / signal.steps[i]!));
  const text = [
    `${settings.label}: whole decode step per trigger, ${settings.maxNewTokens} greedy tokens, no insertion fires; runs in lockstep, ${settings.rounds} rotating rounds, ${signal.steps.length} steps each`,
    table([
      ['trigger', 'median ms/step', 'ratio of medians', 'median step ratio'],
      ...variants.map((v) => [v.name, median(v.steps).toFixed(3), (median(v.steps) / median(signal.steps)).toFixed(3), pairedRatio(v).toFixed(3)]),
    ]),
  ].join('\n');
  return {
    text,
    rows: [
      { name: `${settings.rowPrefix}signal-ms-per-step`, value: median(signal.steps), unit: 'ms' },
      ...variants.slice(1).map((v) => ({ name: `${settings.rowPrefix}${v.row}-vs-signal`, value: pairedRatio(v), unit: 'ratio' })),
    ],
  };
}
