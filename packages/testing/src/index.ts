/**
 * Shared test kit of icot: one behavioural conformance suite per interface (model, selector,
 * decoder, trigger) that every implementation runs, and the reference fixtures (tiny Qwen2-VL and
 * Chameleon models with the paper's algorithm's outputs on them).
 * @module
 */
export { describeModelConformance, type ModelConformanceCapabilities, type ModelConformanceSetup } from './model-conformance.js';
export { describeSelectorConformance, type SelectorConformanceCapabilities } from './selector-conformance.js';
export {
  describeDecoderConformance,
  type DecoderConformanceCapabilities,
  type DecoderConformanceSetup,
  type InputInsertionRelation,
} from './decoder-conformance.js';
export { describeTriggerConformance, type TriggerConformanceCapabilities } from './trigger-conformance.js';
export {
  argmax,
  CONFORMANCE_TOLERANCES,
  everyNthTokenTrigger,
  firstLogitDifference,
  toleranceOf,
  type ConformanceDtype,
  type ConformanceTolerance,
} from './conformance.js';
export {
  describeRealModelChecks,
  realModelEnvironment,
  type RealModelBackend,
  type RealModelCheckOptions,
  type RealModelEnvironment,
  type RealModelSetup,
} from './real-model.js';
export { FIXTURES_DIR, fixturePath, loadOracle, loadReferencePixels, type FixtureName, type Oracle, type OracleEvent } from './fixtures.js';
export { addExternalDataReference, copyModel, moveWeightsToExternalData, replaceSoftmaxWithExpLogSoftmax, type TemporaryModel } from './variants.js';
export { GraphBuilder, normal, FLOAT, FLOAT16, INT32, INT64, UINT8, type GraphBuilderOptions, type OpOptions } from './models/graph-builder.js';
export { buildDecoder, decoderWeightBytes, linearLayer, normalWeight, type AttentionKind, type DecoderSpec } from './models/decoder.js';
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
} from './models/vlm-folders.js';
export { writeTinyQwen25Vl, type TinyQwen25VlSettings } from './models/qwen25vl-folder.js';
export { SMOLVLM_CHAT_TEMPLATE, writeTinySmolVlm, type TinySmolVlmSettings } from './models/smolvlm-folder.js';
export { chameleonImageTokenName, writeTinyChameleon, type TinyChameleonInfo, type TinyChameleonSettings } from './models/chameleon-folder.js';
export { TINY_FAMILY_VARIANTS } from './models/family-variants.js';
export {
  dequantizeQ4,
  ExternalDataFile,
  halfActivations,
  NormalStream,
  Q4_BLOCK_SIZE,
  Q4Quantizer,
  quantizedWeights,
  WEIGHT_DTYPE_SUFFIX,
  WEIGHT_DTYPES,
  type ExternalDataSink,
  type Q4Weight,
  type WeightDtype,
} from './models/weights.js';
export { chatMlTemplate, tokenizerFiles, type GeneratedTokenizer } from './models/tokenizer-files.js';
export { writeSlowPrefillModel, type SlowPrefillModel } from './models/slow-prefill.js';
