import { createSignalTrigger, OptionError, type InsertionDecoderV2, type PatchSelectorV2, type TriggerV2 } from '@icot/core';
import type { WebRunDescription } from '@icot/backend-web';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { createAdsSelector, type AdsSelectorSettings } from '@icot/selector-ads';
import { createInfoGainSelector, type InfoGainSelectorOptions } from '@icot/selector-info-gain';
import { createRandomSelector } from '@icot/selector-random';
import { createSegmentationSelector, type SegmentationSelectorOptions } from '@icot/selector-segmentation';
import { createAttentionShiftTrigger, type AttentionShiftTriggerOptions } from '@icot/trigger-attention-shift';
import { createProbabilityGapTrigger, type ProbabilityGapTriggerOptions } from '@icot/trigger-probability-gap';

import { BROWSER_STRATEGIES } from './browser-strategies.js';

const SIGNAL_IDS_HINT = "Pass ids of the model's tokenizer, or use the line-break signal.";

/**
 * Build the selector, decoder and trigger a browser run names, as `@icot/runner`'s
 * `createStrategies` does in Node (same names, options and defaults: ADS, input-end insertion on
 * the official grid, the newline signal every 2nd time); signal token ids are checked against the
 * model's vocabulary. Throws OptionError for unknown names and options.
 */
export function createWebStrategies(description: WebRunDescription, model: { readonly vocabSize: number }): { selector: PatchSelectorV2; decoder: InsertionDecoderV2; trigger: TriggerV2 } {
  const selectorName = description.selector?.name ?? 'ads';
  const selectorOptions = description.selector?.options ?? {};
  const decoder = description.decoder ?? { name: 'input' };
  const layout = decoder.layout ?? 'grid';
  const trigger = description.trigger ?? {};
  const signal = trigger.signal ?? 'newline';
  if (signal !== 'newline') {
    const outside = signal.tokenIds.filter((id) => !(Number.isInteger(id) && id >= 0 && id < model.vocabSize));
    if (outside.length) throw new OptionError(`Signal token ids ${outside.join(', ')} are not ids of the model's vocabulary of ${model.vocabSize} tokens.`, { hint: SIGNAL_IDS_HINT });
  }
  return {
    selector: createSelector(selectorName, { ...(selectorName === 'info-gain' ? { layout } : {}), ...selectorOptions }),
    decoder:
      decoder.name === 'input'
        ? createInputInsertionDecoder({ layout })
        : decoder.name === 'kv-copy' || decoder.name === 'kv-rebind'
          ? createKvInsertionDecoder({ mode: decoder.name === 'kv-copy' ? 'copy' : 'rebind', delimiters: decoder.delimiters ?? true, layout })
          : unknown('Decoder', decoder.name, BROWSER_STRATEGIES.decoders),
    trigger:
      (trigger.name ?? 'signal') === 'signal'
        ? createSignalTrigger({ signal, every: trigger.every ?? 2 })
        : trigger.name === 'attention-shift'
          ? createAttentionShiftTrigger((trigger.options ?? {}) as AttentionShiftTriggerOptions)
          : trigger.name === 'probability-gap'
            ? createProbabilityGapTrigger((trigger.options ?? {}) as ProbabilityGapTriggerOptions)
            : unknown('Trigger', trigger.name, BROWSER_STRATEGIES.triggers),
  };
}

function unknown(what: string, name: string | undefined, known: readonly string[]): never {
  throw new OptionError(`${what} '${String(name)}' is not available in the browser.`, { hint: `Use one of: ${known.join(', ')}.` });
}

function createSelector(name: string, options: Readonly<Record<string, unknown>>): PatchSelectorV2 {
  switch (name) {
    case 'ads': {
      const known = ['attention', 'descriptionPrompt', 'descriptionTokens', 'readoutText'];
      const extra = Object.keys(options).filter((key) => !known.includes(key));
      if (extra.length) throw new OptionError(`Unknown option '${extra[0]}' of the ads selector.`, { hint: `Known options: ${known.join(', ')}.` });
      return createAdsSelector(options as AdsSelectorSettings);
    }
    case 'random':
      if (Object.keys(options).length) throw new OptionError('The random selector takes no options.', { hint: 'Its choices are seeded by sampling.seed.' });
      return createRandomSelector();
    case 'segmentation':
      return createSegmentationSelector(options as SegmentationSelectorOptions);
    case 'info-gain':
      return createInfoGainSelector(options as InfoGainSelectorOptions);
    default:
      return unknown('Selector', name, BROWSER_STRATEGIES.selectors);
  }
}
