import {
  createSignalTrigger,
  type InsertionDecoderV1,
  type PatchSelectorV1,
  type TriggerV1,
  type VisionLanguageModelV1,
} from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createRandomSelector } from '@icot/selector-random';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { checkRunDescription, type RunDescription } from './description.js';

/** The strategy objects a run description names. */
export interface Strategies {
  readonly selector: PatchSelectorV1;
  readonly decoder: InsertionDecoderV1;
  readonly trigger: TriggerV1;
}

/**
 * Build the selector, decoder and trigger a run description names: the one place where names
 * become objects, so the CLI, servers and experiment runs agree. Defaults: ADS, input-end
 * insertion on the official grid, the newline signal every 2nd time, the family's after-prompt
 * behaviour.
 */
export function createStrategies(description: RunDescription, model: VisionLanguageModelV1): Strategies {
  checkRunDescription(description);
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
    trigger: createSignalTrigger({
      signal: trigger.signal ?? 'newline',
      every: trigger.every ?? 2,
      afterPrompt: trigger.afterPrompt ?? model.family.defaults.insertAfterPrompt,
    }),
  };
}
