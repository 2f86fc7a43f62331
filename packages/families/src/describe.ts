import { configFields, ModelConfigError, type ModelFamilyV2, type PatchGrid, type RopeDescriptionV1, type TokenizerV1 } from '@icot/core';
import { readChameleonConfig } from './chameleon/config.js';
import { chameleonRope, createChameleonFamily } from './chameleon/family.js';
import { readIdefics3Config } from './idefics3/config.js';
import { createIdefics3Family } from './idefics3/family.js';
import { readIdefics3SpecialTokens } from './idefics3/prompt.js';
import { readLlavaConfig } from './llava/config.js';
import { createLlavaFamily } from './llava/family.js';
import { readQwen2VlConfig } from './qwen2-vl/config.js';
import { createQwen2VlFamily } from './qwen2-vl/family.js';
import { llavaRope, qwen2VlRope } from './rope.js';

/** Everything a backend needs to know about a model's family, read once from its configs. */
export interface ModelFamilyDescription {
  readonly modelType: string;
  readonly family: ModelFamilyV2;
  readonly rope: RopeDescriptionV1;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  /** Qwen2-VL: patches merged into one image token per side (2); 1 elsewhere. */
  readonly spatialMergeSize: number;
  /** The context length the config states ({@link readContextLength}); undefined when it states none. */
  readonly maxContextTokens?: number;
}

/**
 * The context length a `config.json` states: the text model's `max_position_embeddings` (read
 * with {@link configFields}: `text_config` first, then the top level), the field every family
 * here uses (Qwen2-VL and Qwen2.5-VL, LLaVA's and Idefics3 / SmolVLM's Llama-style text models,
 * Chameleon). Undefined when the config has none; throws {@link ModelConfigError} for a value that
 * is not a positive integer.
 */
export function readContextLength(config: Record<string, unknown>): number | undefined {
  const value = configFields(config).text('max_position_embeddings');
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ModelConfigError(`config.json's max_position_embeddings is ${JSON.stringify(value)}, not a positive integer.`, {
      hint: 'Fix or remove the field (without it, runs have no context limit), or use the config.json of the original export.',
    });
  return value;
}

/** What a family may read besides its configs: the tokenizer and the processor's own config. */
export interface DescribeContext {
  /** The model's tokenizer: ids of special tokens (`tokenToId`) and of plain text (`encode`, no special tokens added). */
  readonly tokenizer: Pick<TokenizerV1, 'encode' | 'tokenToId'>;
  /** `processor_config.json`, when the model has one (Idefics3: `image_seq_len`). */
  readonly processorConfig?: Record<string, unknown>;
}

/**
 * How a family is described from `config.json` and `generation_config.json`; `tokenText` gives a
 * token id's vocabulary string (for the image placeholder), `context` the tokenizer and the
 * processor config (for families whose image layout is made of several special tokens).
 */
export type DescribeFamily = (
  config: Record<string, unknown>,
  generationConfig: Record<string, unknown>,
  tokenText: (id: number) => string | undefined,
  context: DescribeContext,
) => ModelFamilyDescription;

const sizes = (c: { modelType: string; hiddenSize: number; vocabSize: number; eosTokenIds: readonly number[]; numKeyValueHeads: number; headDim: number }) => ({
  modelType: c.modelType,
  hiddenSize: c.hiddenSize,
  vocabSize: c.vocabSize,
  eosTokenIds: c.eosTokenIds,
  numKeyValueHeads: c.numKeyValueHeads,
  headDim: c.headDim,
});

/** Describe a Qwen2-VL / Qwen2.5-VL model. */
export const describeQwen2Vl: DescribeFamily = (config, generationConfig, tokenText) => {
  const c = readQwen2VlConfig(config, generationConfig);
  const family = createQwen2VlFamily({ ...c, imagePlaceholder: tokenText(c.imageTokenId) ?? '<|image_pad|>' });
  return { ...sizes(c), family, rope: qwen2VlRope(c), spatialMergeSize: c.spatialMergeSize, maxContextTokens: readContextLength(config) };
};

/** Describe a LLaVA-style model. */
export const describeLlava: DescribeFamily = (config, generationConfig, tokenText) => {
  const c = readLlavaConfig(config, generationConfig);
  const family = createLlavaFamily({ imageTokenId: c.imageTokenId, imagePlaceholder: tokenText(c.imageTokenId) ?? '<image>' });
  return { ...sizes(c), family, rope: llavaRope(c), spatialMergeSize: 1, maxContextTokens: readContextLength(config) };
};

/** Describe a Chameleon-class (unified discrete-token) model. */
export const describeChameleon: DescribeFamily = (config, generationConfig, tokenText) => {
  const c = readChameleonConfig(config, generationConfig);
  return {
    ...sizes(c),
    family: createChameleonFamily(c, tokenText(c.imageTokenId) ?? '<image>'),
    rope: chameleonRope(c),
    spatialMergeSize: 1,
    maxContextTokens: readContextLength(config),
  };
};

/**
 * Describe an Idefics3 / SmolVLM model: text sizes from `text_config` (a Llama-style decoder, 1-D
 * RoPE), the image tokens from the tokenizer, `image_seq_len` from `config.json` (checked against
 * `processor_config.json`).
 */
export const describeIdefics3: DescribeFamily = (config, generationConfig, _tokenText, { tokenizer, processorConfig }) => {
  const vision = readIdefics3Config(config, processorConfig);
  const c = readLlavaConfig(config, generationConfig, 'SmolVLM / Idefics3');
  const tokens = readIdefics3SpecialTokens(
    (text) => tokenizer.tokenToId(text),
    (text) => tokenizer.encode(text),
  );
  if (tokens.image !== vision.imageTokenId)
    throw new ModelConfigError(`config.json says image_token_id ${vision.imageTokenId}, but the tokenizer's <image> is ${tokens.image}.`, {
      hint: 'Use the tokenizer.json and config.json of the same export.',
    });
  return {
    ...sizes(c),
    family: createIdefics3Family({ tokens, imageSeqLen: vision.imageSeqLen }),
    rope: llavaRope(c),
    spatialMergeSize: 1,
    maxContextTokens: readContextLength(config),
  };
};

/** The square patch grid of `count` image tokens; throws {@link ModelConfigError} when there is none. */
export function squarePatchGrid(count: number, source = 'The vision encoder'): PatchGrid {
  const side = Math.round(Math.sqrt(count));
  if (side * side !== count)
    throw new ModelConfigError(`${source} returned ${count} image tokens, which is not a square patch grid.`, {
      hint: 'Only vision encoders whose tokens form a square grid (no CLS token) are supported.',
    });
  return { rows: side, cols: side };
}
