import {
  createSignalTrigger,
  type InsertionDecoderV2,
  type PatchSelectorV2,
  type TriggerV2,
} from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createRandomSelector } from '@icot/selector-random';
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
    selector: selectorName === 'random' ? createRandomSelector() : createAdsSelector(),
    decoder:
      decoder.name === 'input'
        ? createInputInsertionDecoder({ layout })
        : createKvInsertionDecoder({ mode: decoder.name === 'kv-copy' ? 'copy' : 'rebind', delimiters: decoder.delimiters ?? true, layout }),
    trigger: createSignalTrigger({ signal: trigger.signal ?? 'newline', every: trigger.every ?? 2 }),
  };
}
