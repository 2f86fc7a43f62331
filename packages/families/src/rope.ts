import type { RopeDescriptionV1 } from '@icot/core';
import type { LlavaModelConfig } from './llava/config.js';
import type { Qwen2VlModelConfig } from './qwen2-vl/config.js';

/** Rotary embedding of a Qwen2-VL / Qwen2.5-VL decoder: M-RoPE with the config's sections. */
export function qwen2VlRope(config: Qwen2VlModelConfig): RopeDescriptionV1 {
  return { theta: config.ropeTheta, headDim: config.headDim, rotaryDim: config.headDim, mropeSection: config.mropeSection, layout: 'half' };
}

/** Rotary embedding of a LLaVA-style decoder: 1-D RoPE, partial when the config says so. */
export function llavaRope(config: LlavaModelConfig): RopeDescriptionV1 {
  const rotaryDim = 2 * Math.floor((config.headDim * config.partialRotaryFactor) / 2);
  return { theta: config.ropeTheta, headDim: config.headDim, rotaryDim, layout: 'half' };
}
