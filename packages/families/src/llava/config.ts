import { configFields, ModelConfigError } from '@icot/core';

/** LLaVA-style facts ICoT needs, from `config.json`. */
export interface LlavaModelConfig {
  readonly modelType: string;
  readonly imageTokenId: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly eosTokenIds: readonly number[];
  readonly ropeTheta: number;
  /** Share of each head's dimensions that are rotated (1 unless partial rotary). */
  readonly partialRotaryFactor: number;
}

/** Model types handled by the LLaVA family. */
export const LLAVA_MODEL_TYPES = ['llava'] as const;

/**
 * Read a LLaVA config (`image_token_index` + `text_config`, with the shared reader
 * {@link configFields}); also the text part of other composite configs with a Llama-style text
 * model and `image_token_id` (Idefics3 / SmolVLM), `exportName` naming them in errors.
 */
export function readLlavaConfig(config: Record<string, unknown>, generationConfig: Record<string, unknown> = {}, exportName = 'LLaVA'): LlavaModelConfig {
  const fields = configFields(config);
  const pick = (key: string): unknown => fields.text(key);
  const need = (key: string, value: unknown = pick(key)): number => {
    if (typeof value !== 'number') throw new ModelConfigError(`config.json has no numeric '${key}'.`, { hint: `Use the config.json that belongs to this ${exportName} export.` });
    return value;
  };
  const hiddenSize = need('hidden_size');
  const heads = need('num_attention_heads');
  const eos = generationConfig['eos_token_id'] ?? fields.top('eos_token_id');
  return {
    modelType: String(config['model_type']),
    imageTokenId: need('image_token_index', fields.top('image_token_index') ?? fields.top('image_token_id')),
    hiddenSize,
    numLayers: need('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: typeof pick('num_key_value_heads') === 'number' ? (pick('num_key_value_heads') as number) : heads,
    headDim: typeof pick('head_dim') === 'number' ? (pick('head_dim') as number) : hiddenSize / heads,
    vocabSize: need('vocab_size'),
    eosTokenIds: (Array.isArray(eos) ? eos : [eos]).filter((v): v is number => typeof v === 'number'),
    ropeTheta: typeof pick('rope_theta') === 'number' ? (pick('rope_theta') as number) : 10000,
    partialRotaryFactor: typeof pick('partial_rotary_factor') === 'number' ? (pick('partial_rotary_factor') as number) : 1,
  };
}
