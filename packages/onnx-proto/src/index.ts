/**
 * ONNX models at the protobuf level: read a ModelProto's structure (nodes, inputs, outputs,
 * opsets, external data references) without decoding its weights, and write edited copies
 * (appended or replaced nodes, outputs, initializers) that copy every other byte unchanged; float16
 * conversions and external-data initializers for models written in code.
 * @module
 */
export {
  appendToGraph,
  editGraph,
  encodeModel,
  encodeNode,
  encodeTensor,
  encodeExternalTensor,
  editNode,
  encodeValueInfo,
  extendNode,
  floatTensor,
  float16Tensor,
  int64Tensor,
  OnnxDataType,
  parseOnnxModel,
  nodeField,
  replaceNodes,
  rewriteNodes,
  rewriteOutputs,
  type AttributeSpec,
  type GraphAdditions,
  type GraphEdit,
  type ModelSpec,
  type NodeEdit,
  type NodeSpec,
  type OnnxAttribute,
  type OnnxModelInfo,
  type OnnxNode,
  type OnnxValueInfo,
} from './onnx.js';
export { float16ToFloat32, float32ToFloat16, fromHalf, halfTable, toHalf } from './float16.js';
export { fieldInt64, fieldString, lengthFieldHeader, ProtoWriter, readFields, WireType, type WireField } from './wire.js';
