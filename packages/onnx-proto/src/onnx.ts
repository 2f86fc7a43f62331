import { float32ToFloat16 } from './float16.js';
import { ProtoWriter, WireType, fieldInt64, fieldString, lengthFieldHeader, readFields, type WireField } from './wire.js';

/** ONNX TensorProto data types used here. */
export const OnnxDataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** ONNX AttributeProto types. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** An attribute value as read from a node (graphs are kept as byte ranges). */
export interface OnnxAttribute {
  readonly name: string;
  readonly type: number;
  readonly int?: number;
  readonly float?: number;
  readonly string?: string;
  readonly ints?: readonly number[];
  /** Byte range of a GRAPH attribute's GraphProto (subgraphs of If / Loop / Scan). */
  readonly graph?: { readonly start: number; readonly end: number };
  /** Byte range of a TENSOR attribute's TensorProto (e.g. a Constant's value). */
  readonly tensor?: { readonly start: number; readonly end: number };
}

/** A node as read from a graph. */
export interface OnnxNode {
  readonly index: number;
  readonly name: string;
  readonly opType: string;
  /** Operator domain ('' = ai.onnx). */
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

/** A graph input or output. */
export interface OnnxValueInfo {
  readonly name: string;
  /** ONNX element type (0 when not a tensor or unknown). */
  readonly elemType: number;
  /** Dimensions: numbers, symbolic names, or undefined when unknown. */
  readonly dims: readonly (number | string | undefined)[] | undefined;
}

/** What ICoT reads of an ONNX model, without decoding initializers. */
export interface OnnxModelInfo {
  readonly bytes: Uint8Array;
  readonly irVersion: number;
  /** Opset version per domain ('' = ai.onnx). */
  readonly opsets: ReadonlyMap<string, number>;
  readonly nodes: readonly OnnxNode[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializerNames: ReadonlySet<string>;
  /** Files (relative to the model) that hold external initializer data. */
  readonly externalDataFiles: ReadonlySet<string>;
  /** The ModelProto field that holds the graph. */
  readonly graphField: WireField;
}

function parseAttribute(buf: Uint8Array, start: number, end: number): OnnxAttribute {
  let name = '';
  let type = 0;
  let int: number | undefined;
  let float: number | undefined;
  let string: string | undefined;
  const ints: number[] = [];
  let graph: { start: number; end: number } | undefined;
  let tensor: { start: number; end: number } | undefined;
  for (const f of readFields(buf, start, end)) {
    switch (f.field) {
      case 1:
        name = fieldString(buf, f);
        break;
      case 20:
        type = f.value;
        break;
      case 2:
        float = new DataView(buf.buffer, buf.byteOffset + f.start, 4).getFloat32(0, true);
        break;
      case 3:
        int = fieldInt64(buf, f);
        break;
      case 4:
        string = fieldString(buf, f);
        break;
      case 5:
        tensor = { start: f.start, end: f.end };
        break;
      case 6:
        graph = { start: f.start, end: f.end };
        break;
      case 8:
        if (f.wire === WireType.Varint) ints.push(fieldInt64(buf, f));
        else {
          // packed
          for (let p = f.start; p < f.end; ) {
            let big = 0n;
            let shift = 0n;
            for (;;) {
              const b = buf[p++]!;
              big |= BigInt(b & 0x7f) << shift;
              shift += 7n;
              if (b < 0x80) break;
            }
            ints.push(Number(BigInt.asIntN(64, big)));
          }
        }
        break;
    }
  }
  return { name, type, ...(int !== undefined ? { int } : {}), ...(float !== undefined ? { float } : {}), ...(string !== undefined ? { string } : {}), ...(ints.length ? { ints } : {}), ...(graph ? { graph } : {}), ...(tensor ? { tensor } : {}) };
}

function parseNode(buf: Uint8Array, start: number, end: number, index: number): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes = new Map<string, OnnxAttribute>();
  let name = '';
  let opType = '';
  let domain = '';
  for (const f of readFields(buf, start, end)) {
    switch (f.field) {
      case 1:
        inputs.push(fieldString(buf, f));
        break;
      case 2:
        outputs.push(fieldString(buf, f));
        break;
      case 3:
        name = fieldString(buf, f);
        break;
      case 4:
        opType = fieldString(buf, f);
        break;
      case 7:
        domain = fieldString(buf, f);
        break;
      case 5: {
        const a = parseAttribute(buf, f.start, f.end);
        attributes.set(a.name, a);
        break;
      }
    }
  }
  return { index, name, opType, domain: domain === 'ai.onnx' ? '' : domain, inputs, outputs, attributes };
}

function parseValueInfo(buf: Uint8Array, start: number, end: number): OnnxValueInfo {
  let name = '';
  let elemType = 0;
  let dims: (number | string | undefined)[] | undefined;
  for (const f of readFields(buf, start, end)) {
    if (f.field === 1) name = fieldString(buf, f);
    else if (f.field === 2) {
      for (const t of readFields(buf, f.start, f.end)) {
        if (t.field !== 1) continue; // tensor_type
        for (const tt of readFields(buf, t.start, t.end)) {
          if (tt.field === 1) elemType = tt.value;
          else if (tt.field === 2) {
            dims = [];
            for (const d of readFields(buf, tt.start, tt.end)) {
              if (d.field !== 1) continue;
              let dim: number | string | undefined;
              for (const dv of readFields(buf, d.start, d.end)) {
                if (dv.field === 1) dim = fieldInt64(buf, dv);
                else if (dv.field === 2) dim = fieldString(buf, dv);
              }
              dims.push(dim);
            }
          }
        }
      }
    }
  }
  return { name, elemType, dims };
}

function initializerInfo(buf: Uint8Array, start: number, end: number): { name: string; location: string | undefined } {
  let name = '';
  let external = false;
  let location: string | undefined;
  for (const f of readFields(buf, start, end)) {
    if (f.field === 8) name = fieldString(buf, f);
    else if (f.field === 14 && f.value === 1) external = true;
    else if (f.field === 13) {
      let key = '';
      let value = '';
      for (const e of readFields(buf, f.start, f.end)) {
        if (e.field === 1) key = fieldString(buf, e);
        else if (e.field === 2) value = fieldString(buf, e);
      }
      if (key === 'location') location = value;
    }
  }
  return { name, location: external ? location : undefined };
}

/** Read the structure of an ONNX model (nodes, inputs, outputs, opsets) from its bytes. */
export function parseOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  let irVersion = 0;
  const opsets = new Map<string, number>();
  let graphField: WireField | undefined;
  for (const f of readFields(bytes)) {
    if (f.field === 1) irVersion = f.value;
    else if (f.field === 8) {
      let domain = '';
      let version = 0;
      for (const o of readFields(bytes, f.start, f.end)) {
        if (o.field === 1) domain = fieldString(bytes, o);
        else if (o.field === 2) version = o.value;
      }
      opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    } else if (f.field === 7) graphField = f;
  }
  if (!graphField) throw new Error('not an ONNX model: no graph');
  const nodes: OnnxNode[] = [];
  const inputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  const initializerNames = new Set<string>();
  const externalDataFiles = new Set<string>();
  for (const f of readFields(bytes, graphField.start, graphField.end)) {
    if (f.field === 1) nodes.push(parseNode(bytes, f.start, f.end, nodes.length));
    else if (f.field === 11) inputs.push(parseValueInfo(bytes, f.start, f.end));
    else if (f.field === 12) outputs.push(parseValueInfo(bytes, f.start, f.end));
    else if (f.field === 5) {
      const info = initializerInfo(bytes, f.start, f.end);
      initializerNames.add(info.name);
      if (info.location !== undefined) externalDataFiles.add(info.location);
    }
  }
  return { bytes, irVersion, opsets, nodes, inputs, outputs, initializerNames, externalDataFiles, graphField };
}

/** An attribute to write. */
export type AttributeSpec =
  | { readonly name: string; readonly int: number }
  | { readonly name: string; readonly ints: readonly number[] }
  | { readonly name: string; readonly float: number }
  | { readonly name: string; readonly string: string };

/** A node to write. */
export interface NodeSpec {
  readonly name: string;
  readonly opType: string;
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly AttributeSpec[];
}

/** Encode a NodeProto. */
export function encodeNode(node: NodeSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  w.string(3, node.name).string(4, node.opType);
  if (node.domain) w.string(7, node.domain);
  for (const a of node.attributes ?? []) {
    w.message(5, (m) => {
      m.string(1, a.name);
      if ('int' in a) m.int(3, a.int).int(20, AttrType.INT);
      else if ('ints' in a) {
        for (const v of a.ints) m.int(8, v);
        m.int(20, AttrType.INTS);
      } else if ('float' in a) m.float(2, a.float).int(20, AttrType.FLOAT);
      else m.string(4, a.string).int(20, AttrType.STRING);
    });
  }
  return w.finish();
}

/** Encode a ValueInfoProto for a tensor (dims may be numbers, symbolic names, or omitted). */
export function encodeValueInfo(name: string, elemType: number, dims?: readonly (number | string)[]): Uint8Array {
  return new ProtoWriter()
    .string(1, name)
    .message(2, (t) =>
      t.message(1, (tt) => {
        tt.int(1, elemType);
        if (dims)
          tt.message(2, (s) => {
            for (const d of dims) s.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
          });
      }),
    )
    .finish();
}

/** Encode a TensorProto holding `raw` little-endian data. */
export function encodeTensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  return w.int(2, dataType).string(8, name).bytes(9, raw).finish();
}

/** An int64 tensor initializer. */
export function int64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): Uint8Array {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return encodeTensor(name, OnnxDataType.INT64, dims, raw);
}

/** What to add to a graph. */
export interface GraphAdditions {
  readonly nodes?: readonly Uint8Array[];
  readonly outputs?: readonly Uint8Array[];
  readonly initializers?: readonly Uint8Array[];
  /** Encoded ValueInfoProtos declaring types of intermediate tensors (see {@link encodeValueInfo}). */
  readonly valueInfos?: readonly Uint8Array[];
  /** Opset imports to add to the model: domain -> version. */
  readonly opsets?: ReadonlyMap<string, number>;
}

function withGraph(model: OnnxModelInfo, graphParts: readonly Uint8Array[], opsets?: ReadonlyMap<string, number>): Uint8Array {
  const { bytes, graphField } = model;
  const graphLength = graphParts.reduce((n, p) => n + p.length, 0);
  const header = lengthFieldHeader(7, graphLength);
  const opsetWriter = new ProtoWriter();
  for (const [domain, version] of opsets ?? []) opsetWriter.message(8, (o) => o.string(1, domain).int(2, version));
  const opsetBytes = opsetWriter.finish();
  const out = new Uint8Array(graphField.tagStart + header.length + graphLength + (bytes.length - graphField.end) + opsetBytes.length);
  let p = 0;
  const put = (part: Uint8Array): void => {
    out.set(part, p);
    p += part.length;
  };
  put(bytes.subarray(0, graphField.tagStart));
  put(header);
  for (const part of graphParts) put(part);
  put(bytes.subarray(graphField.end));
  put(opsetBytes);
  return out;
}

/** Changes {@link editGraph} makes to a model's main graph, in one pass. */
export interface GraphEdit {
  /**
   * Replace a node: return zero or more encoded GraphProto `node` fields (see {@link nodeField})
   * for it, or undefined to keep it. `raw` is the node's NodeProto as stored.
   */
  readonly nodes?: (node: OnnxNode, raw: Uint8Array) => Uint8Array | undefined;
  /** Redeclare a graph output: return its new ValueInfoProto (see {@link encodeValueInfo}), or undefined to keep it. */
  readonly outputs?: (output: OnnxValueInfo) => Uint8Array | undefined;
  /** Nodes, initializers, outputs, value infos and opsets appended. */
  readonly append?: GraphAdditions;
}

/**
 * A copy of `model` with `edit` applied to its main graph. Every byte not edited (weights
 * included) is copied unchanged, once: edits made together cost one copy of the model.
 */
export function editGraph(model: OnnxModelInfo, edit: GraphEdit): Uint8Array {
  const { bytes, graphField } = model;
  const parts: Uint8Array[] = [];
  let node = 0;
  let output = 0;
  let copyFrom = graphField.start;
  if (edit.nodes || edit.outputs)
    for (const f of readFields(bytes, graphField.start, graphField.end)) {
      let replacement: Uint8Array | undefined;
      if (f.field === 1 && edit.nodes) replacement = edit.nodes(model.nodes[node++]!, bytes.subarray(f.start, f.end));
      else if (f.field === 12 && edit.outputs) {
        const declared = edit.outputs(model.outputs[output++]!);
        if (declared) replacement = new ProtoWriter().bytes(12, declared).finish();
      }
      if (!replacement) continue;
      parts.push(bytes.subarray(copyFrom, f.tagStart), replacement);
      copyFrom = f.end;
    }
  parts.push(bytes.subarray(copyFrom, graphField.end));
  const additions = edit.append;
  if (additions) {
    const extra = new ProtoWriter();
    for (const n of additions.nodes ?? []) extra.bytes(1, n);
    for (const t of additions.initializers ?? []) extra.bytes(5, t);
    for (const o of additions.outputs ?? []) extra.bytes(12, o);
    for (const v of additions.valueInfos ?? []) extra.bytes(13, v);
    parts.push(extra.finish());
  }
  return withGraph(model, parts, additions?.opsets);
}

/**
 * A copy of `model` with nodes, outputs and initializers appended to its main graph. Only the
 * graph's length prefix changes; every other byte (weights included) is copied unchanged.
 */
export function appendToGraph(model: OnnxModelInfo, additions: GraphAdditions): Uint8Array {
  return editGraph(model, { append: additions });
}

/**
 * A copy of `model` where each node for which `rewrite` returns bytes is replaced by those bytes:
 * zero or more encoded GraphProto `node` fields (see {@link nodeField}). `raw` is the node's
 * NodeProto as stored. All other bytes are copied unchanged, in place.
 */
export function rewriteNodes(model: OnnxModelInfo, rewrite: (node: OnnxNode, raw: Uint8Array) => Uint8Array | undefined): Uint8Array {
  return editGraph(model, { nodes: rewrite });
}

/**
 * A copy of `model` where each graph output for which `rewrite` returns ValueInfoProto bytes
 * (see {@link encodeValueInfo}) is declared by those bytes instead; all other bytes are copied
 * unchanged.
 */
export function rewriteOutputs(model: OnnxModelInfo, rewrite: (output: OnnxValueInfo) => Uint8Array | undefined): Uint8Array {
  return editGraph(model, { outputs: rewrite });
}

/** A GraphProto `node` field holding `nodeProto` bytes (to return from {@link rewriteNodes}). */
export function nodeField(nodeProto: Uint8Array): Uint8Array {
  return new ProtoWriter().bytes(1, nodeProto).finish();
}

/** Changes {@link editNode} makes to a stored node. */
export interface NodeEdit {
  /** New names for inputs, by input index. */
  readonly renameInputs?: ReadonlyMap<number, string>;
  /** New names for outputs, by output index. */
  readonly renameOutputs?: ReadonlyMap<number, string>;
  /** Outputs appended after the existing ones. */
  readonly outputs?: readonly string[];
  /** Attributes appended after the existing ones. */
  readonly attributes?: readonly AttributeSpec[];
}

/**
 * NodeProto bytes of `raw` with inputs or outputs renamed and outputs or attributes appended. Every other
 * field (inputs, name, domain, attributes of any type) is copied byte for byte.
 */
export function editNode(raw: Uint8Array, edit: NodeEdit): Uint8Array {
  const w = new ProtoWriter();
  let inputIndex = 0;
  let outputIndex = 0;
  for (const f of readFields(raw)) {
    const renamed = f.field === 1 ? edit.renameInputs?.get(inputIndex++) : f.field === 2 ? edit.renameOutputs?.get(outputIndex++) : undefined;
    if (renamed !== undefined) w.string(f.field, renamed);
    else w.raw(raw.subarray(f.tagStart, f.end));
  }
  for (const o of edit.outputs ?? []) w.string(2, o);
  if (edit.attributes?.length) {
    const encoded = encodeNode({ name: '', opType: '', inputs: [], outputs: [], attributes: edit.attributes });
    for (const f of readFields(encoded)) if (f.field === 5) w.raw(encoded.subarray(f.tagStart, f.end));
  }
  return w.finish();
}

/** NodeProto bytes of `raw` with extra outputs and attributes appended (see {@link editNode}). */
export function extendNode(raw: Uint8Array, extra: { readonly outputs?: readonly string[]; readonly attributes?: readonly AttributeSpec[] }): Uint8Array {
  return editNode(raw, extra);
}

/**
 * A copy of `model` where each node for which `replace` returns a list is replaced by those
 * nodes (in place, keeping graph order); all other bytes are copied unchanged.
 */
export function replaceNodes(model: OnnxModelInfo, replace: (node: OnnxNode) => readonly NodeSpec[] | undefined): Uint8Array {
  return rewriteNodes(model, (node) => {
    const replacement = replace(node);
    if (!replacement) return undefined;
    const w = new ProtoWriter();
    for (const n of replacement) w.bytes(1, encodeNode(n));
    return w.finish();
  });
}

/** A whole model to write (small models built in code, e.g. for tests). */
export interface ModelSpec {
  /** IR version (default 8). */
  readonly irVersion?: number;
  /** Opset per domain (default `{'': 17}`). */
  readonly opsets?: ReadonlyMap<string, number>;
  readonly producer?: string;
  readonly graph: {
    readonly name?: string;
    readonly nodes: readonly NodeSpec[];
    /** Encoded TensorProtos (see {@link encodeTensor}, {@link floatTensor}, {@link int64Tensor}). */
    readonly initializers?: readonly Uint8Array[];
    /** Encoded ValueInfoProtos (see {@link encodeValueInfo}). */
    readonly inputs: readonly Uint8Array[];
    readonly outputs: readonly Uint8Array[];
  };
}

/** Encode a ModelProto. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const w = new ProtoWriter().int(1, spec.irVersion ?? 8).string(2, spec.producer ?? 'icot');
  w.message(7, (g) => {
    for (const n of spec.graph.nodes) g.bytes(1, encodeNode(n));
    g.string(2, spec.graph.name ?? 'graph');
    for (const t of spec.graph.initializers ?? []) g.bytes(5, t);
    for (const i of spec.graph.inputs) g.bytes(11, i);
    for (const o of spec.graph.outputs) g.bytes(12, o);
  });
  for (const [domain, version] of spec.opsets ?? new Map([['', 17]])) w.message(8, (o) => o.string(1, domain).int(2, version));
  return w.finish();
}

/** A float32 tensor initializer. */
export function floatTensor(name: string, values: ArrayLike<number>, dims: readonly number[]): Uint8Array {
  const data = Float32Array.from(values);
  return encodeTensor(name, OnnxDataType.FLOAT, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** A float16 tensor initializer from float32 values (rounded to nearest even). */
export function float16Tensor(name: string, values: ArrayLike<number>, dims: readonly number[]): Uint8Array {
  const data = float32ToFloat16(values);
  return encodeTensor(name, OnnxDataType.FLOAT16, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * A TensorProto whose data lives in an external file (`location`, relative to the model file)
 * at `offset`, `length` bytes, as large exports store their weights (`data_location = EXTERNAL`).
 */
export function encodeExternalTensor(name: string, dataType: number, dims: readonly number[], location: string, offset: number, length: number): Uint8Array {
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  return w
    .int(2, dataType)
    .string(8, name)
    .message(13, (e) => e.string(1, 'location').string(2, location))
    .message(13, (e) => e.string(1, 'offset').string(2, String(offset)))
    .message(13, (e) => e.string(1, 'length').string(2, String(length)))
    .int(14, 1)
    .finish();
}
