import { ModelConfigError } from '@icot/core';
import {
  CHAMELEON_MODEL_TYPES,
  describeChameleon,
  describeIdefics3,
  describeLlava,
  IDEFICS3_MODEL_TYPES,
  describeQwen2Vl,
  LLAVA_MODEL_TYPES,
  QWEN2_VL_MODEL_TYPES,
  type DescribeFamily,
} from '@icot/families';
import { chameleonImages, idefics3Images, llavaImages, qwen2VlImages, type ImageContext, type ImageEncoder } from './images.js';

/** The model families icot runs. */
export type FamilyKind = 'qwen2-vl' | 'llava' | 'idefics3' | 'chameleon';

/** The graphs of an export whose decoder takes embeddings (onnx-community layout, under `onnx/`). */
export const EMBEDDINGS_GRAPHS = ['vision_encoder', 'embed_tokens', 'decoder_model_merged'] as const;
/** The graphs of a unified discrete-token export: the VQ image tokenizer and a decoder over token ids. */
export const TOKEN_IDS_GRAPHS = ['image_tokenizer', 'decoder_model_merged'] as const;

/**
 * Everything the assembly needs to run one family: adding a family is one entry here, its pure
 * logic (`@icot/families`) and its preprocessing (`@icot/families/preprocess`).
 */
export interface FamilyEntry {
  /** Config `model_type`s of the family. */
  readonly modelTypes: readonly string[];
  /**
   * What the decoder takes: `embeddings` (a vision encoder, an embedding graph and a decoder over
   * `inputs_embeds`: {@link EMBEDDINGS_GRAPHS}) or `token-ids` (an image tokenizer and a decoder
   * over `input_ids`: {@link TOKEN_IDS_GRAPHS}).
   */
  readonly decoderInput: 'embeddings' | 'token-ids';
  /** The family's ModelFamilyV2, rope and sizes from its configs (pure). */
  readonly describe: DescribeFamily;
  /** The image front end: preprocessing and the first graph's session. */
  readonly images: (context: ImageContext) => ImageEncoder;
  /**
   * Chat messages when the tokenizer ships no chat template: `join` their contents, placeholders
   * for images (Chameleon ships none), or `template-required` (the tokenizer's error).
   */
  readonly withoutChatTemplate: 'join' | 'template-required';
  /** Whether the family's images are tiled (several grids with text between them). */
  readonly tiledImages: boolean;
  /**
   * How message contents reach the chat template: `as-given`, or `parts` (a string content becomes
   * `[{ type: 'text', text }]`: SmolVLM's template iterates the content as a list of parts, so a
   * string content would render nothing).
   */
  readonly chatContent: 'as-given' | 'parts';
}

/** Every family, by kind: the type checker proves each kind has an entry. */
export const FAMILIES = {
  'qwen2-vl': { modelTypes: QWEN2_VL_MODEL_TYPES, decoderInput: 'embeddings', describe: describeQwen2Vl, images: qwen2VlImages, withoutChatTemplate: 'template-required', tiledImages: false, chatContent: 'as-given' },
  llava: { modelTypes: LLAVA_MODEL_TYPES, decoderInput: 'embeddings', describe: describeLlava, images: llavaImages, withoutChatTemplate: 'template-required', tiledImages: false, chatContent: 'as-given' },
  idefics3: { modelTypes: IDEFICS3_MODEL_TYPES, decoderInput: 'embeddings', describe: describeIdefics3, images: idefics3Images, withoutChatTemplate: 'template-required', tiledImages: true, chatContent: 'parts' },
  chameleon: { modelTypes: CHAMELEON_MODEL_TYPES, decoderInput: 'token-ids', describe: describeChameleon, images: chameleonImages, withoutChatTemplate: 'join', tiledImages: false, chatContent: 'as-given' },
} as const satisfies Record<FamilyKind, FamilyEntry>;

/** The graphs a family's export needs, the decoder last. */
export function familyGraphs(entry: FamilyEntry): readonly string[] {
  return entry.decoderInput === 'embeddings' ? EMBEDDINGS_GRAPHS : TOKEN_IDS_GRAPHS;
}

/** Config `model_type`s of the families `accept` takes (default all). */
export function supportedModelTypes(accept: (entry: FamilyEntry) => boolean = () => true): string[] {
  return Object.values(FAMILIES).filter(accept).flatMap((entry) => [...entry.modelTypes]);
}

/**
 * The family of a config `model_type`, among those `accept` takes (a backend's subset, e.g.
 * transformers.js runs no token-ids family). Throws {@link ModelConfigError} naming the supported
 * model types; `where` names the model in the message.
 */
export function familyFor(modelType: string, where: string, backend: string, accept: (entry: FamilyEntry) => boolean = () => true): { readonly kind: FamilyKind; readonly entry: FamilyEntry } {
  for (const [kind, entry] of Object.entries(FAMILIES) as [FamilyKind, FamilyEntry][])
    if (accept(entry) && entry.modelTypes.includes(modelType)) return { kind, entry };
  throw new ModelConfigError(`${where} is a '${modelType}' model, which the ${backend} backend does not run (it runs ${supportedModelTypes(accept).join(', ')}).`, {
    hint: 'Use a model of a supported family, e.g. onnx-community/Qwen2-VL-2B-Instruct.',
  });
}
