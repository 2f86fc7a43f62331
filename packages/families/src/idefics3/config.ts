import { ModelConfigError } from '@icot/core';

/**
 * The Idefics3 / SmolVLM facts that are not the text decoder's: the image placeholder and the
 * connector's pixel shuffle, read from `config.json` (text sizes come from `text_config`, read by
 * the shared text-config reader).
 *
 * Field names as in transformers' `Idefics3Config` / `SmolVLMConfig` (models/idefics3,
 * models/smolvlm configuration files): `image_token_id`, `scale_factor`,
 * `vision_config.{image_size, patch_size}`. HuggingFaceTB/SmolVLM-256M-Instruct: image_token_id
 * 49190, scale_factor 4, image_size 512, patch_size 16, so 8 x 8 = 64 tokens per tile.
 */
export interface Idefics3ModelConfig {
  /** `idefics3` or `smolvlm`. */
  readonly modelType: string;
  /** Id of `<image>`: one per image token in the expanded prompt. */
  readonly imageTokenId: number;
  /** Pixel-shuffle factor of the connector: `scale_factor x scale_factor` patches become one token. */
  readonly scaleFactor: number;
  /** Side of a tile the vision encoder takes, in pixels (`vision_config.image_size`). */
  readonly imageSize: number;
  /** Vision patch side in pixels (`vision_config.patch_size`). */
  readonly patchSize: number;
  /** Image tokens per tile side: `imageSize / patchSize / scaleFactor`. */
  readonly tokensPerSide: number;
  /** Image tokens per tile (and for the global image): `tokensPerSide^2` (`image_seq_len` of the processor). */
  readonly imageSeqLen: number;
}

/** Model types handled by the Idefics3 family (SmolVLM checkpoints use either). */
export const IDEFICS3_MODEL_TYPES = ['idefics3', 'smolvlm'] as const;

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Read the Idefics3 / SmolVLM image facts of `config.json`. `processorConfig` (the
 * `processor_config.json`, optional) is checked for agreement: its `image_seq_len` must equal
 * `(image_size / patch_size / scale_factor)^2`. Throws {@link ModelConfigError} naming the field.
 */
export function readIdefics3Config(config: Record<string, unknown>, processorConfig: Record<string, unknown> = {}): Idefics3ModelConfig {
  const vision = (config['vision_config'] as Record<string, unknown> | undefined) ?? {};
  const need = (value: unknown, key: string): number => {
    const v = positiveInteger(value);
    if (v === undefined)
      throw new ModelConfigError(`config.json has no positive integer '${key}'.`, { hint: 'Use the config.json that belongs to this SmolVLM / Idefics3 export.' });
    return v;
  };
  const imageTokenId = need(config['image_token_id'] ?? (config['text_config'] as Record<string, unknown> | undefined)?.['image_token_id'], 'image_token_id');
  const scaleFactor = need(config['scale_factor'], 'scale_factor');
  const imageSize = need(vision['image_size'], 'vision_config.image_size');
  const patchSize = need(vision['patch_size'], 'vision_config.patch_size');
  const tokensPerSide = imageSize / patchSize / scaleFactor;
  if (!Number.isInteger(tokensPerSide))
    throw new ModelConfigError(`vision_config.image_size ${imageSize} is not a multiple of patch_size ${patchSize} x scale_factor ${scaleFactor}.`, {
      hint: 'The pixel shuffle needs whole blocks of patches; check config.json.',
    });
  const imageSeqLen = tokensPerSide * tokensPerSide;
  const declared = processorConfig['image_seq_len'];
  if (declared !== undefined && declared !== imageSeqLen)
    throw new ModelConfigError(`processor_config.json says image_seq_len ${String(declared)}, but config.json gives (${imageSize} / ${patchSize} / ${scaleFactor})^2 = ${imageSeqLen} tokens per tile.`, {
      hint: 'Use the processor_config.json and config.json of the same export.',
    });
  return { modelType: String(config['model_type'] ?? ''), imageTokenId, scaleFactor, imageSize, patchSize, tokensPerSide, imageSeqLen };
}
