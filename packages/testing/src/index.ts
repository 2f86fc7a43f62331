/**
 * Shared test kit of icot: one behavioural conformance suite per interface (model, selector,
 * decoder) that every implementation runs, and the reference fixtures (tiny Qwen2-VL and
 * Chameleon models with the paper's algorithm's outputs on them).
 * @module
 */
export { describeModelConformance, type ModelConformanceCapabilities, type ModelConformanceSetup } from './model-conformance.js';
export { describeSelectorConformance, type SelectorConformanceCapabilities } from './selector-conformance.js';
export { describeDecoderConformance, type DecoderConformanceSetup } from './decoder-conformance.js';
export { FIXTURES_DIR, fixturePath, loadOracle, loadReferencePixels, type FixtureName, type Oracle, type OracleEvent } from './fixtures.js';
export { addExternalDataReference, copyModel, moveWeightsToExternalData, replaceSoftmaxWithExpLogSoftmax, type TemporaryModel } from './variants.js';
export { GraphBuilder, normal, FLOAT, INT32, INT64, type OpOptions } from './models/graph-builder.js';
export { buildDecoder, type AttentionKind, type DecoderSpec } from './models/decoder.js';
export { TINY_MODEL_VARIANTS, writeTinyLlava, writeTinyQwen2Vl, type TinyModelInfo, type TinyModelSettings, type TinyModelVariant } from './models/vlm-folders.js';
export { chatMlTemplate, tokenizerFiles, type GeneratedTokenizer } from './models/tokenizer-files.js';
