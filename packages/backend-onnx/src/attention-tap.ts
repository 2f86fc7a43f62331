import { appendToGraph, encodeNode, encodeValueInfo, int64Tensor, OnnxDataType, type NodeSpec, type OnnxModelInfo, type OnnxNode } from '@icot/onnx-proto';

/** Decoder attention shapes the tap understands. */
export type AttentionGraphShape = 'softmax';

/** Human-readable list of supported attention graph shapes (for error messages). */
export const SUPPORTED_ATTENTION_SHAPES =
  'plain attention (MatMul -> Softmax -> MatMul, one Softmax over the last axis of [batch, heads, query, key] per layer)';

/** Where attention probabilities appear in a decoder graph. */
export type AttentionSites =
  | { readonly supported: true; readonly shape: AttentionGraphShape; readonly nodes: readonly OnnxNode[] }
  | { readonly supported: false; readonly reason: string };

/** Prefix of every name the tap adds to a graph. */
export const TAP_PREFIX = 'icot_tap/';

/** Name of the tap output of layer `i` ([batch, total_sequence_length], float32). */
export function tapOutputName(layer: number): string {
  return `${TAP_PREFIX}attention.${layer}`;
}

function consumersOf(model: OnnxModelInfo): Map<string, OnnxNode[]> {
  const map = new Map<string, OnnxNode[]>();
  for (const n of model.nodes)
    for (const input of n.inputs) {
      const list = map.get(input);
      if (list) list.push(n);
      else map.set(input, [n]);
    }
  return map;
}

/** Passes a tensor through unchanged in value layout (casts, identity, dropout). */
const PASS_THROUGH = new Set(['Cast', 'Identity', 'Dropout']);

/**
 * Find the attention probabilities of each decoder layer. Returns the sites in graph order (layer
 * order), or why none were found.
 */
export function findAttentionSites(model: OnnxModelInfo, expectedLayers?: number): AttentionSites {
  const consumers = consumersOf(model);
  const feedsMatMul = (tensor: string, depth = 0): boolean =>
    (consumers.get(tensor) ?? []).some(
      (c) => c.opType === 'MatMul' || (depth < 3 && PASS_THROUGH.has(c.opType) && c.outputs[0] !== undefined && feedsMatMul(c.outputs[0], depth + 1)),
    );
  const opset = model.opsets.get('') ?? 13;
  const softmaxes = model.nodes.filter((n) => {
    if (n.opType !== 'Softmax' || n.domain !== '') return false;
    const axis = n.attributes.get('axis')?.int ?? (opset >= 13 ? -1 : 1);
    return (axis === -1 || axis === 3) && feedsMatMul(n.outputs[0]!);
  });
  const hasSubgraphs = model.nodes.some((n) => [...n.attributes.values()].some((a) => a.graph));
  const fused = model.nodes.filter((n) => n.domain === 'com.microsoft' && /Attention/.test(n.opType)).map((n) => n.opType);
  if (softmaxes.length === 0) {
    const found = fused.length
      ? `it uses fused ${[...new Set(fused)].join(', ')} nodes`
      : hasSubgraphs
        ? 'its layers sit inside If/Loop subgraphs'
        : 'it has no Softmax that feeds a MatMul';
    return {
      supported: false,
      reason: `the decoder graph's attention cannot be read: ${found}. Supported shapes: ${SUPPORTED_ATTENTION_SHAPES}.`,
    };
  }
  if (expectedLayers !== undefined && softmaxes.length !== expectedLayers)
    return {
      supported: false,
      reason: `found ${softmaxes.length} attention Softmax nodes but the config has ${expectedLayers} layers, so they cannot be matched to layers. Supported shapes: ${SUPPORTED_ATTENTION_SHAPES}.`,
    };
  return { supported: true, shape: 'softmax', nodes: softmaxes };
}

/** A decoder graph with attention taps. */
export interface TappedModel {
  /** The edited ModelProto. */
  readonly bytes: Uint8Array;
  /** Tap output names, one per layer, in layer order. */
  readonly outputs: readonly string[];
}

/**
 * Add, for every attention layer, an output holding the last query position's attention
 * probabilities averaged over heads ([batch, keys], float32), computed inside the graph: the
 * full [batch, heads, query, key] tensors never leave it. Only the ModelProto changes; external
 * weight files are referenced as before.
 */
export function tapAttention(model: OnnxModelInfo, sites: Extract<AttentionSites, { supported: true }>): TappedModel {
  const opset = model.opsets.get('') ?? 13;
  const starts = `${TAP_PREFIX}starts`;
  const ends = `${TAP_PREFIX}ends`;
  const queryAxis = `${TAP_PREFIX}query_axis`;
  const meanAxes = `${TAP_PREFIX}mean_axes`;
  const initializers = [
    int64Tensor(starts, [-1]),
    int64Tensor(ends, [Number.MAX_SAFE_INTEGER]),
    int64Tensor(queryAxis, [2]),
    ...(opset >= 18 ? [int64Tensor(meanAxes, [1, 2])] : []),
  ];
  const nodes: NodeSpec[] = [];
  const outputs: string[] = [];
  sites.nodes.forEach((site, layer) => {
    const p = `${TAP_PREFIX}l${layer}/`;
    const probs = site.outputs[0]!;
    const out = tapOutputName(layer);
    nodes.push({ name: `${p}cast`, opType: 'Cast', inputs: [probs], outputs: [`${p}probs`], attributes: [{ name: 'to', int: OnnxDataType.FLOAT }] });
    nodes.push({ name: `${p}last_query`, opType: 'Slice', inputs: [`${p}probs`, starts, ends, queryAxis], outputs: [`${p}last`] });
    nodes.push(
      opset >= 18
        ? { name: `${p}head_mean`, opType: 'ReduceMean', inputs: [`${p}last`, meanAxes], outputs: [out], attributes: [{ name: 'keepdims', int: 0 }] }
        : { name: `${p}head_mean`, opType: 'ReduceMean', inputs: [`${p}last`], outputs: [out], attributes: [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', int: 0 }] },
    );
    outputs.push(out);
  });
  const bytes = appendToGraph(model, {
    nodes: nodes.map(encodeNode),
    initializers,
    outputs: outputs.map((o) => encodeValueInfo(o, OnnxDataType.FLOAT, ['batch_size', 'total_sequence_length'])),
  });
  return { bytes, outputs };
}
