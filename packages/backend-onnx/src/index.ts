/**
 * ONNX Runtime backend for ICoT: loads vision-language models in the onnx-community layout (local
 * folders or hub ids), runs them step by step with a KV cache, and reads the decoder's attention
 * through taps added to the graph at load time.
 * @module
 */
export { loadOnnxModel, downloadOnnxModel, SUPPORTED_MODEL_TYPES, type LoadOnnxModelOptions } from './load.js';
export { OnnxQwen2VlModel, Qwen2VlEncodedImage, QWEN2_VL_GRAPHS, type AttentionLayerSetting, type OnnxModelSettings } from './qwen2-vl-model.js';
export { openModelFolder, onnxFileName, parseDtype, ONNX_DTYPE_SUFFIXES, type ModelFolder, type OnnxDtype, type OnnxDtypeSetting } from './model-folder.js';
export { HubRepository, cachedModelDir, defaultCacheDir, isHubId, type DownloadProgress, type HubOptions } from './hub.js';
export { findAttentionSites, tapAttention, tapOutputName, SUPPORTED_ATTENTION_SHAPES, type AttentionGraphShape, type AttentionSites, type TappedModel } from './attention-tap.js';
export type { OrtSettings } from './ort-io.js';
