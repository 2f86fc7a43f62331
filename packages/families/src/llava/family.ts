import type { ModelFamilyV2 } from '@icot/core';
import { createSequentialFamily } from '../common/sequential-family.js';

/**
 * The LLaVA family: the `<image>` placeholder expands to the vision encoder's features for a fixed
 * patch grid, positions are 1-D, and an insertion feeds the selected features at the next
 * positions (LLaVA has no image start/end tokens).
 */
export function createLlavaFamily(settings: { readonly imageTokenId: number; readonly imagePlaceholder?: string }): ModelFamilyV2 {
  return createSequentialFamily({
    name: 'llava',
    imageTokenId: settings.imageTokenId,
    imagePlaceholder: settings.imagePlaceholder ?? '<image>',
    defaults: { k: 16, insertAfterPrompt: false, excludeSelected: false },
  });
}
