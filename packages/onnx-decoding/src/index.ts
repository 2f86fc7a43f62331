/**
 * ONNX decoder plumbing shared by every ONNX-based ICoT backend (onnxruntime-node, transformers.js):
 * attention taps added to decoder graphs (plain Softmax, GroupQueryAttention, MultiHeadAttention),
 * logits limited to the last position, the onnx-community decoder contract, and the KV-cache
 * decoding session.
 * @module
 */
export {
  findAttentionSites,
  tapAttention,
  tapOutputName,
  SUPPORTED_ATTENTION_SHAPES,
  TAP_PREFIX,
  type AttentionGraphShape,
  type AttentionSites,
  type TappedModel,
} from './attention-tap.js';
export { fusedAttentionTapFor, type FusedAttentionTap } from './attention-recompute.js';
export {
  decoderCapabilities,
  describeDecoder,
  prepareDecoder,
  type DecoderGraph,
  type DecoderPreparation,
  type DecoderShapeHints,
  type ImageCapabilities,
  type PreparedDecoder,
} from './decoder.js';
export { OnnxDecodingSession, type SegmentEncoder } from './decoding-session.js';
export { findLogitsProjection, sliceLogitsToLastPosition, LOGITS_PREFIX, LOGITS_TO_KEEP_INPUTS, type LogitsProjection, type LogitsRows } from './logits.js';
export { resolveAttentionLayers, type AttentionLayerSetting } from './layers.js';
export {
  defaultTensorFactory,
  disposeTensor,
  emptyTensor,
  floatTensor,
  inputSpecs,
  int64Tensor,
  OnesMask,
  readFloat,
  readFloatRange,
  readLastRow,
  type InputSpec,
  type OrtSession,
  type TensorFactory,
} from './tensors.js';
export { float16ToFloat32, float32ToFloat16, fromHalf, halfTable, toHalf } from './float16.js';
export { embeddingsSegmentEncoder, type EmbeddingsEncoderSettings } from './embeddings.js';
