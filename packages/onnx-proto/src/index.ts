/**
 * ONNX models at the protobuf level: read a ModelProto's structure (nodes, inputs, outputs,
 * opsets, external data references) without decoding its weights, and write edited copies
 * (appended or replaced nodes, outputs, initializers) that copy every other byte unchanged.
 * @module
 */
export {
  appendToGraph,
  encodeModel,
  encodeNode,
  encodeTensor,
  editNode,
  encodeValueInfo,
  extendNode,
  floatTensor,
  int64Tensor,
  OnnxDataType,
  parseOnnxModel,
  nodeField,
  replaceNodes,
  rewriteNodes,
  type AttributeSpec,
  type GraphAdditions,
  type ModelSpec,
  type NodeEdit,
  type NodeSpec,
  type OnnxAttribute,
  type OnnxModelInfo,
  type OnnxNode,
  type OnnxValueInfo,
} from './onnx.js';
export { fieldInt64, fieldString, lengthFieldHeader, ProtoWriter, readFields, WireType, type WireField } from './wire.js';
