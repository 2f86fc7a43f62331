import type { ModelFamilyV2, RopeDescriptionV1 } from '@icot/core';
import { createSequentialFamily } from '../common/sequential-family.js';
import type { ChameleonModelConfig } from './config.js';

/**
 * The Chameleon family (unified discrete tokens): a prompt is `<s>` + text with each `<image>`
 * expanded to `<racm3:break>` + the image's VQ token ids + `<eoss>`, positions are 1-D, an
 * insertion feeds `<racm3:break>` + the selected patches' token ids + `<eoss>`, and image tokens
 * are never sampled as text. Its official ICoT behaviours are the defaults: an insertion right
 * after the prompt and no patch chosen twice (64 of 1024 tokens per insertion in the paper).
 */
export function createChameleonFamily(config: ChameleonModelConfig, imagePlaceholder = '<image>'): ModelFamilyV2 {
  return createSequentialFamily({
    name: 'chameleon',
    imageTokenId: config.imageTokenId,
    imagePlaceholder,
    imagePrefix: [config.boiTokenId],
    imageSuffix: [config.eoiTokenId],
    promptPrefix: [config.bosTokenId],
    defaults: { k: 64, insertAfterPrompt: true, excludeSelected: true },
    suppressedTokenIds: config.imageTokenIds,
  });
}

/** Rotary embedding of a Chameleon decoder (1-D RoPE over the whole head). */
export function chameleonRope(config: ChameleonModelConfig): RopeDescriptionV1 {
  return { theta: config.ropeTheta, headDim: config.headDim, rotaryDim: config.headDim, layout: 'half' };
}
