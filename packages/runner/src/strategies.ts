import {
  createSignalTrigger,
  OptionError,
  type InsertionDecoderV2,
  type PatchSelectorV2,
  type TriggerV2,
} from '@icot/core';
import { createAdsSelector, type AdsSelectorSettings } from '@icot/selector-ads';
import { createRandomSelector } from '@icot/selector-random';
import { createGroundingSelector, type GroundingSelectorOptions } from '@icot/selector-grounding';
import { createSegmentationSelector, type SegmentationSelectorOptions } from '@icot/selector-segmentation';
import { createInfoGainSelector, type InfoGainSelectorOptions } from '@icot/selector-info-gain';
import { createAttentionShiftTrigger, type AttentionShiftTriggerOptions } from '@icot/trigger-attention-shift';
import { createProbabilityGapTrigger, type ProbabilityGapTriggerOptions } from '@icot/trigger-probability-gap';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { checkRunDescription, checkSignalTokenIds, type RunDescription } from './description.js';

/** The strategy objects a run description names. */
export interface Strategies {
  readonly selector: PatchSelectorV2;
  readonly decoder: InsertionDecoderV2;
  readonly trigger: TriggerV2;
}

/**
 * Build the selector, decoder and trigger a run description names: the one place where names
 * become objects, so the CLI, servers and experiment runs agree. Defaults: ADS, input-end
 * insertion on the official grid, the newline signal every 2nd time. (The family's official
 * behaviours - k, an insertion after the prompt, exclusion - are applied by the ICoT loop.)
 * Given the `model` the run uses, signal token ids are checked against its vocabulary
 * ({@link checkSignalTokenIds}).
 */
export function createStrategies(description: RunDescription, model?: { readonly vocabSize: number }): Strategies {
  checkRunDescription(description);
  const signal = description.trigger?.signal;
  if (model && signal !== undefined && signal !== 'newline') checkSignalTokenIds(signal.tokenIds, model.vocabSize);
  const selectorName = description.selector?.name ?? 'ads';
  const decoder = description.decoder ?? { name: 'input' as const };
  const layout = decoder.layout ?? 'grid';
  const trigger = description.trigger ?? {};
  return {
    selector: createSelector(selectorName, {
      // info-gain probes insertions laid out as the run's decoder lays them out
      ...(selectorName === 'info-gain' ? { layout } : {}),
      ...description.selector?.options,
    }),
    decoder:
      decoder.name === 'input'
        ? createInputInsertionDecoder({ layout })
        : createKvInsertionDecoder({ mode: decoder.name === 'kv-copy' ? 'copy' : 'rebind', delimiters: decoder.delimiters ?? true, layout }),
    trigger:
      (trigger.name ?? 'signal') === 'signal'
        ? createSignalTrigger({ signal: trigger.signal ?? 'newline', every: trigger.every ?? 2 })
        : trigger.name === 'attention-shift'
          ? createAttentionShiftTrigger((trigger.options ?? {}) as AttentionShiftTriggerOptions)
          : createProbabilityGapTrigger((trigger.options ?? {}) as ProbabilityGapTriggerOptions),
  };
}

/** A selector by name; its factory checks the options (unknown names and bad values fail with an OptionError). */
function createSelector(name: NonNullable<RunDescription['selector']>['name'], options: Readonly<Record<string, unknown>>): PatchSelectorV2 {
  switch (name) {
    case 'ads':
      return createAdsSelector(options as AdsSelectorSettings);
    case 'random':
      if (Object.keys(options).length) throw new OptionError('The random selector takes no options.', { hint: 'Its choices are seeded by sampling.seed.' });
      return createRandomSelector();
    case 'grounding':
      return createGroundingSelector(options as GroundingSelectorOptions);
    case 'segmentation':
      return createSegmentationSelector(options as SegmentationSelectorOptions);
    case 'info-gain':
      return createInfoGainSelector(options as InfoGainSelectorOptions);
  }
}
