import { ModelConfigError, type ModelFamilyV2, type PatchGrid, type RopeDescriptionV1 } from '@icot/core';
import { CHAMELEON_MODEL_TYPES, readChameleonConfig } from './chameleon/config.js';
import { chameleonRope, createChameleonFamily } from './chameleon/family.js';
import { LLAVA_MODEL_TYPES, readLlavaConfig } from './llava/config.js';
import { createLlavaFamily } from './llava/family.js';
import { QWEN2_VL_MODEL_TYPES, readQwen2VlConfig } from './qwen2-vl/config.js';
import { createQwen2VlFamily } from './qwen2-vl/family.js';
import { llavaRope, qwen2VlRope } from './rope.js';

/** Which family a config belongs to. */
export type ModelFamilyKind = 'qwen2-vl' | 'llava' | 'chameleon';

/** Everything a backend needs to know about a model's family, read once from its configs. */
export interface ModelFamilyDescription {
  readonly kind: ModelFamilyKind;
  readonly modelType: string;
  readonly family: ModelFamilyV2;
  readonly rope: RopeDescriptionV1;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Qwen2-VL: patches merged into one image token per side (2). */
  readonly spatialMergeSize: number;
}

/** Config `model_type`s of each family. */
export const FAMILY_MODEL_TYPES: Readonly<Record<ModelFamilyKind, readonly string[]>> = {
  'qwen2-vl': QWEN2_VL_MODEL_TYPES,
  llava: LLAVA_MODEL_TYPES,
  chameleon: CHAMELEON_MODEL_TYPES,
};

/** The family kind of a config `model_type`, or undefined. */
export function familyKindOf(modelType: string): ModelFamilyKind | undefined {
  return (Object.keys(FAMILY_MODEL_TYPES) as ModelFamilyKind[]).find((kind) => FAMILY_MODEL_TYPES[kind].includes(modelType));
}

/**
 * Describe a model's family from `config.json` (and `generation_config.json`). `tokenText` gives a
 * token id's vocabulary string, for the image placeholder. Throws {@link ModelConfigError} for
 * model types no family handles, listing the ones `supported` (default: all).
 */
export function describeModelFamily(
  config: Record<string, unknown>,
  generationConfig: Record<string, unknown>,
  tokenText: (id: number) => string | undefined,
  supported: readonly ModelFamilyKind[] = ['qwen2-vl', 'llava', 'chameleon'],
): ModelFamilyDescription {
  const modelType = String(config['model_type']);
  const kind = familyKindOf(modelType);
  if (!kind || !supported.includes(kind))
    throw new ModelConfigError(`'${modelType}' models are not supported here (supported: ${supported.flatMap((k) => FAMILY_MODEL_TYPES[k]).join(', ')}).`, {
      hint: 'Use a model of a supported family, e.g. onnx-community/Qwen2-VL-2B-Instruct.',
    });
  const sizes = (c: { hiddenSize: number; vocabSize: number; eosTokenIds: readonly number[]; numKeyValueHeads: number; headDim: number }) => ({
    hiddenSize: c.hiddenSize,
    vocabSize: c.vocabSize,
    eosTokenIds: c.eosTokenIds,
    numKeyValueHeads: c.numKeyValueHeads,
    headDim: c.headDim,
  });
  if (kind === 'qwen2-vl') {
    const c = readQwen2VlConfig(config, generationConfig);
    const family = createQwen2VlFamily({ ...c, imagePlaceholder: tokenText(c.imageTokenId) ?? '<|image_pad|>' });
    return { kind, modelType, family, rope: qwen2VlRope(c), ...sizes(c), spatialMergeSize: c.spatialMergeSize };
  }
  if (kind === 'llava') {
    const c = readLlavaConfig(config, generationConfig);
    const family = createLlavaFamily({ imageTokenId: c.imageTokenId, imagePlaceholder: tokenText(c.imageTokenId) ?? '<image>' });
    return { kind, modelType, family, rope: llavaRope(c), ...sizes(c), spatialMergeSize: 1 };
  }
  const c = readChameleonConfig(config, generationConfig);
  return { kind, modelType, family: createChameleonFamily(c, tokenText(c.imageTokenId) ?? '<image>'), rope: chameleonRope(c), ...sizes(c), spatialMergeSize: 1 };
}

/** The square patch grid of `count` image tokens; throws {@link ModelConfigError} when there is none. */
export function squarePatchGrid(count: number, source = 'The vision encoder'): PatchGrid {
  const side = Math.round(Math.sqrt(count));
  if (side * side !== count)
    throw new ModelConfigError(`${source} returned ${count} image tokens, which is not a square patch grid.`, {
      hint: 'Only vision encoders whose tokens form a square grid (no CLS token) are supported.',
    });
  return { rows: side, cols: side };
}
