/**
 * ONNX Runtime backend for ICoT: loads vision-language models in the onnx-community layout (local
 * folders or hub ids) on onnxruntime-node - a thin adapter around `@icot/model`'s assembly (files
 * from the folder, sessions from onnxruntime-node, hub downloads from `@icot/hub`) - runs them
 * step by step with a KV cache, and reads the decoder's attention through taps added to the graph
 * at load time.
 * @module
 */
export { loadOnnxModel, downloadOnnxModel, SUPPORTED_MODEL_TYPES, type LoadOnnxModelOptions, type OnnxModelSettings } from './load.js';
export { loadDecoderGraph, type DecoderGraphSettings } from './decoder-graph.js';
export { nodeSessionFactory, type OrtSettings } from './ort-io.js';
export { AssembledModel, onnxFileName, parseDtype, ONNX_DTYPE_SUFFIXES, type OnnxDtype, type OnnxDtypeSetting } from '@icot/model';
export { FeatureImage, TokenImage } from '@icot/families';
export { HubRepository, hubCacheDir, isHubId, type DownloadProgress, type HubOptions } from './hub.js';
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
