import { configFields, ModelConfigError } from '@icot/core';

/** Chameleon-class (unified discrete-token) facts ICoT needs, from `config.json`. */
export interface ChameleonModelConfig {
  readonly modelType: string;
  readonly bosTokenId: number;
  /** The `<image>` placeholder token. */
  readonly imageTokenId: number;
  /** Token that opens an image (`<racm3:break>` in Chameleon's vocabulary). */
  readonly boiTokenId: number;
  /** Token that closes an image (`<eoss>`). */
  readonly eoiTokenId: number;
  /** Ids of every image (VQ code) token: the `IMGIMG...Z` entries of the vocabulary map. */
  readonly imageTokenIds: readonly number[];
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly ropeTheta: number;
  readonly eosTokenIds: readonly number[];
}

/** Model types handled by the Chameleon family. */
export const CHAMELEON_MODEL_TYPES = ['chameleon'] as const;

/**
 * Read a Chameleon config: special tokens from `*_token_id` fields (or the vocabulary map), image
 * tokens from `vocabulary_map` (names starting with `IMGIMG`).
 */
export function readChameleonConfig(config: Record<string, unknown>, generationConfig: Record<string, unknown> = {}): ChameleonModelConfig {
  const map = (config['vocabulary_map'] as Record<string, number> | undefined) ?? {};
  const fields = configFields(config);
  const need = (key: string, fallback?: number): number => {
    const v = (key.endsWith('_token_id') ? fields.top(key) : fields.text(key)) ?? fallback;
    if (typeof v !== 'number') throw new ModelConfigError(`config.json has no numeric '${key}'.`, { hint: 'Use the config.json that belongs to this Chameleon export.' });
    return v;
  };
  const imageTokenIds = Object.entries(map)
    .filter(([name]) => name.startsWith('IMGIMG'))
    .map(([, id]) => id)
    .sort((a, b) => a - b);
  if (!imageTokenIds.length)
    throw new ModelConfigError('config.json has no vocabulary_map with IMGIMG image tokens.', { hint: 'Chameleon-class models list their image tokens in vocabulary_map.' });
  const hiddenSize = need('hidden_size');
  const heads = need('num_attention_heads');
  const eos = generationConfig['eos_token_id'] ?? fields.top('eos_token_id');
  return {
    modelType: String(config['model_type']),
    bosTokenId: need('bos_token_id', map['<s>']),
    imageTokenId: need('image_token_id', map['<image>']),
    boiTokenId: need('boi_token_id', map['<racm3:break>']),
    eoiTokenId: need('eoi_token_id', map['<eoss>']),
    imageTokenIds,
    hiddenSize,
    numLayers: need('num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: fields.textNumber('num_key_value_heads') ?? heads,
    headDim: hiddenSize / heads,
    vocabSize: need('vocab_size'),
    ropeTheta: fields.textNumber('rope_theta') ?? 10000,
    eosTokenIds: (Array.isArray(eos) ? eos : [eos]).filter((v): v is number => typeof v === 'number'),
  };
}
