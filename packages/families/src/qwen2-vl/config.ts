import { configFields, ModelConfigError } from '@icot/core';

/** The Qwen2-VL facts ICoT needs, read from `config.json` (never hard-coded ids). */
export interface Qwen2VlModelConfig {
  /** `qwen2_vl` or `qwen2_5_vl`. */
  readonly modelType: string;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  readonly imageTokenId: number;
  /** M-RoPE sections (temporal, height, width) in rotary frequency pairs. */
  readonly mropeSection: readonly number[];
  readonly ropeTheta: number;
  readonly spatialMergeSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
}

/** Model types handled by the Qwen2-VL family. */
export const QWEN2_VL_MODEL_TYPES = ['qwen2_vl', 'qwen2_5_vl'] as const;

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Read a Qwen2-VL / Qwen2.5-VL config, flat (hub format) or nested (`text_config`,
 * transformers 5 style), with the shared reader ({@link configFields}: text sizes from
 * `text_config` first, token ids from the top level first). Throws {@link ModelConfigError}
 * naming the missing field.
 */
export function readQwen2VlConfig(config: Record<string, unknown>, generationConfig: Record<string, unknown> = {}): Qwen2VlModelConfig {
  const fields = configFields(config);
  const vision = (config['vision_config'] as Record<string, unknown> | undefined) ?? {};
  const ids = new Set(['vision_start_token_id', 'vision_end_token_id', 'image_token_id']);
  const pick = (key: string): unknown => (ids.has(key) ? fields.top(key) : fields.text(key));
  const need = (key: string): number => {
    const v = num(pick(key));
    if (v === undefined)
      throw new ModelConfigError(`config.json has no numeric '${key}'.`, { hint: 'Use the config.json that belongs to this Qwen2-VL export.' });
    return v;
  };
  const modelType = String(config['model_type'] ?? '');
  const rope = (pick('rope_scaling') ?? pick('rope_parameters')) as Record<string, unknown> | undefined;
  const section = rope?.['mrope_section'];
  if (!Array.isArray(section) || section.length !== 3 || !section.every((v) => typeof v === 'number'))
    throw new ModelConfigError("config.json has no rope_scaling.mrope_section with 3 entries (M-RoPE).", {
      hint: 'This looks like a text-only or non-Qwen2-VL config; pass a Qwen2-VL model folder.',
    });
  const hiddenSize = need('hidden_size');
  const numAttentionHeads = need('num_attention_heads');
  const eos = generationConfig['eos_token_id'] ?? fields.top('eos_token_id');
  const eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((v): v is number => typeof v === 'number');
  return {
    modelType,
    visionStartTokenId: need('vision_start_token_id'),
    visionEndTokenId: need('vision_end_token_id'),
    imageTokenId: need('image_token_id'),
    mropeSection: section as number[],
    ropeTheta: num(rope?.['rope_theta']) ?? num(pick('rope_theta')) ?? 10000,
    spatialMergeSize: num(vision['spatial_merge_size']) ?? 2,
    hiddenSize,
    numLayers: need('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads: num(pick('num_key_value_heads')) ?? numAttentionHeads,
    headDim: num(pick('head_dim')) ?? hiddenSize / numAttentionHeads,
    vocabSize: need('vocab_size'),
    eosTokenIds,
  };
}
