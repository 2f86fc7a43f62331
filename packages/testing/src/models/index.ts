/**
 * The tiny-model builders of @icot/testing on their own (no test-runner imports): random-weight
 * model folders in the onnx-community layout for every family icot runs, built in milliseconds.
 * `pnpm make-tiny-model` writes them from the command line.
 * @module
 */
export { GraphBuilder, normal, FLOAT, FLOAT16, INT32, INT64, UINT8, type GraphBuilderOptions, type OpOptions } from './graph-builder.js';
export { buildDecoder, decoderWeightBytes, linearLayer, normalWeight, type AttentionKind, type DecoderSpec } from './decoder.js';
export {
  EXTERNAL_DATA_AUTO_BYTES,
  TINY_DTYPE_VARIANTS,
  TINY_MODEL_VARIANTS,
  writeDecoder,
  writeTinyLlava,
  writeTinyQwen2Vl,
  type TinyModelInfo,
  type TinyModelSettings,
  type TinyModelVariant,
} from './vlm-folders.js';
export { writeTinyQwen25Vl, type TinyQwen25VlSettings } from './qwen25vl-folder.js';
export { SMOLVLM_CHAT_TEMPLATE, writeTinySmolVlm, type TinySmolVlmSettings } from './smolvlm-folder.js';
export { chameleonImageTokenName, writeTinyChameleon, type TinyChameleonInfo, type TinyChameleonSettings } from './chameleon-folder.js';
export { TINY_FAMILY_VARIANTS } from './family-variants.js';
export { WEIGHT_DTYPE_SUFFIX, WEIGHT_DTYPES, type WeightDtype } from './weights.js';
export { chatMlTemplate, tokenizerFiles, type GeneratedTokenizer } from './tokenizer-files.js';
