/**
 * ONNX Runtime backend for ICoT: loads vision-language models in the onnx-community layout (local
 * folders or hub ids), runs them step by step with a KV cache, and reads the decoder's attention
 * through taps added to the graph at load time.
 * @module
 */
export { loadOnnxModel, downloadOnnxModel, SUPPORTED_MODEL_TYPES, type LoadOnnxModelOptions } from './load.js';
export { OnnxEmbeddingsModel, EMBEDDINGS_MODEL_GRAPHS, type EmbeddingsFamilyParts, type OnnxModelSettings, type VisionOutput } from './embeddings-model.js';
export { loadDecoderGraph, type DecoderGraphSettings } from './decoder-graph.js';
export { OnnxTokenModel, TOKEN_MODEL_GRAPHS } from './token-model.js';
export { llavaParts, qwen2VlParts, EMBEDDINGS_FAMILIES } from './families.js';
export { FeatureImage } from '@icot/families';
export { openModelFolder, onnxFileName, parseDtype, ONNX_DTYPE_SUFFIXES, type ModelFolder, type OnnxDtype, type OnnxDtypeSetting } from './model-folder.js';
export { HubRepository, hubCacheDir, isHubId, type DownloadProgress, type HubOptions } from './hub.js';
export type { OrtSettings } from './ort-io.js';
export {
  findAttentionSites,
  OnnxDecodingSession,
  prepareDecoder,
  resolveAttentionLayers,
  SUPPORTED_ATTENTION_SHAPES,
  tapAttention,
  tapOutputName,
  type AttentionGraphShape,
  type AttentionLayerSetting,
  type AttentionSites,
  type DecoderGraph,
  type TappedModel,
} from '@icot/onnx-decoding';
