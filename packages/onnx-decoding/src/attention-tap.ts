import {
  editGraph,
  encodeNode,
  encodeValueInfo,
  editNode,
  floatTensor,
  int64Tensor,
  nodeField,
  OnnxDataType,
  type NodeSpec,
  type OnnxModelInfo,
  type OnnxNode,
} from '@icot/onnx-proto';
import { RecomputeConstants, recomputedTapNodes, type FusedAttentionTap } from './attention-recompute.js';

/** Decoder attention shapes the tap reads. */
export type AttentionGraphShape = 'softmax' | 'group-query-attention' | 'multi-head-attention';

/** Human-readable list of supported attention graph shapes (for error messages). */
export const SUPPORTED_ATTENTION_SHAPES =
  'plain attention (MatMul -> Softmax -> MatMul, one Softmax over the last axis of [batch, heads, query, key] per layer), ' +
  'com.microsoft GroupQueryAttention and MultiHeadAttention (read through their attention output on the CPU provider, or recomputed from the query and present keys on other providers)';

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

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
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

const FUSED: Record<string, AttentionGraphShape> = {
  GroupQueryAttention: 'group-query-attention',
  MultiHeadAttention: 'multi-head-attention',
};

/**
 * Find the attention of each decoder layer: fused com.microsoft GroupQueryAttention or
 * MultiHeadAttention nodes, or Softmax nodes over the key axis that feed a MatMul. Returns the
 * sites in graph order (layer order), or why none were found.
 */
export function findAttentionSites(model: OnnxModelInfo, expectedLayers?: number): AttentionSites {
  const mismatch = (found: number, what: string): AttentionSites => ({
    supported: false,
    reason: `found ${found} ${what} but the decoder has ${expectedLayers} layers, so they cannot be matched to layers. Supported shapes: ${SUPPORTED_ATTENTION_SHAPES}.`,
  });
  for (const [opType, shape] of Object.entries(FUSED)) {
    const nodes = model.nodes.filter((n) => n.opType === opType && n.domain === 'com.microsoft');
    if (!nodes.length) continue;
    if (expectedLayers !== undefined && nodes.length !== expectedLayers) return mismatch(nodes.length, `${opType} nodes`);
    return { supported: true, shape, nodes };
  }
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
  if (softmaxes.length === 0) {
    const fused = [...new Set(model.nodes.filter((n) => /Attention/.test(n.opType)).map((n) => `${n.domain || 'ai.onnx'}.${n.opType}`))];
    const hasSubgraphs = model.nodes.some((n) => [...n.attributes.values()].some((a) => a.graph));
    const found = fused.length
      ? `it uses ${fused.join(', ')} nodes`
      : hasSubgraphs
        ? 'its layers sit inside If/Loop subgraphs'
        : 'it has no Softmax that feeds a MatMul';
    return { supported: false, reason: `the decoder graph's attention cannot be read: ${found}. Supported shapes: ${SUPPORTED_ATTENTION_SHAPES}.` };
  }
  if (expectedLayers !== undefined && softmaxes.length !== expectedLayers) return mismatch(softmaxes.length, 'attention Softmax nodes');
  return { supported: true, shape: 'softmax', nodes: softmaxes };
}

/** A decoder graph with attention taps. */
export interface TappedModel {
  /** The edited ModelProto. */
  readonly bytes: Uint8Array;
  /** Tap output names in the order of `layers`. */
  readonly outputs: readonly string[];
  /** The tapped layers. */
  readonly layers: readonly number[];
}

/**
 * Add, for each of `layers` (default all), an output holding the last query position's attention
 * probabilities averaged over heads ([batch, keys], float32), computed inside the graph so the
 * [batch, heads, query, key] tensors never leave it:
 * - plain graphs: from the Softmax output;
 * - GroupQueryAttention with `fused: 'qk-output'` (default): the node gets `qk_output = 2` and a
 *   4th output (post-softmax probabilities) - onnxruntime's CPU kernel only;
 * - MultiHeadAttention with `fused: 'qk-output'`: the node gets its 4th output (scaled scores) and
 *   the tap applies Softmax to the last query row (its causal mask does not touch that row);
 * - either with `fused: 'recompute'`: the node is left untouched and the row is recomputed from
 *   its query and present keys with plain operators, for every execution provider (see
 *   {@link FusedAttentionTap}).
 * Only the ModelProto changes; external weight files are referenced as before.
 */
export function tapAttention(
  model: OnnxModelInfo,
  sites: Extract<AttentionSites, { supported: true }>,
  layers?: readonly number[],
  fused: FusedAttentionTap = 'qk-output',
): TappedModel {
  if (sites.shape !== 'softmax' && fused === 'recompute') return recomputeTaps(model, sites, layers);
  const chosen = layers ?? sites.nodes.map((_, i) => i);
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
  const tapNodes = (layer: number, source: string): NodeSpec[] => {
    const p = `${TAP_PREFIX}l${layer}/`;
    const out = tapOutputName(layer);
    // Slice first: only the last query row [B, H, 1, T] is ever copied out of the attention tensor.
    const nodes: NodeSpec[] = [
      { name: `${p}last_query`, opType: 'Slice', inputs: [source, starts, ends, queryAxis], outputs: [`${p}last_raw`] },
      { name: `${p}cast`, opType: 'Cast', inputs: [`${p}last_raw`], outputs: [`${p}last`], attributes: [{ name: 'to', int: OnnxDataType.FLOAT }] },
    ];
    let probs = `${p}last`;
    if (sites.shape === 'multi-head-attention') {
      nodes.push({ name: `${p}softmax`, opType: 'Softmax', inputs: [probs], outputs: [`${p}probs`], attributes: [{ name: 'axis', int: -1 }] });
      probs = `${p}probs`;
    }
    nodes.push(
      opset >= 18
        ? { name: `${p}head_mean`, opType: 'ReduceMean', inputs: [probs, meanAxes], outputs: [out], attributes: [{ name: 'keepdims', int: 0 }] }
        : { name: `${p}head_mean`, opType: 'ReduceMean', inputs: [probs], outputs: [out], attributes: [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', int: 0 }] },
    );
    return nodes;
  };
  // Order: onnxruntime schedules a node with no consumers late, so a tap would keep its layer's
  // [B, H, S, T] attention tensor alive until the end of the graph. Adding 0 x (sum of the tap) to
  // the layer's attention output makes the next layer wait for the tap, so each layer's tensor is
  // freed as in the untapped graph. x + 0 is exact for the finite values attention produces.
  const computeType = model.inputs.find((i) => i.name.startsWith('past_key_values.'))?.elemType || OnnxDataType.FLOAT;
  const consumers = consumersOf(model);
  const producerOf = new Map<number, { layer: number; output: number }>();
  for (const layer of chosen) {
    const site = sites.nodes[layer]!;
    if (sites.shape !== 'softmax') producerOf.set(site.index, { layer, output: 0 });
    else {
      // the MatMul that consumes the probabilities, through Casts (float16 graphs run Softmax in float32)
      let next = consumers.get(site.outputs[0]!) ?? [];
      for (let depth = 0; depth < 3 && next.length === 1 && PASS_THROUGH.has(next[0]!.opType); depth++) next = consumers.get(next[0]!.outputs[0]!) ?? [];
      const matmul = next.length === 1 && next[0]!.opType === 'MatMul' ? next[0]! : undefined;
      if (matmul) producerOf.set(matmul.index, { layer, output: 0 });
    }
  }
  const zero = `${TAP_PREFIX}zero`;
  const orderingNodes = (layer: number, producerOutput: string, renamed: string): NodeSpec[] => {
    const p = `${TAP_PREFIX}l${layer}/order/`;
    return [
      { name: `${p}sum`, opType: 'ReduceSum', inputs: [tapOutputName(layer)], outputs: [`${p}sum`], attributes: [{ name: 'keepdims', int: 0 }] },
      { name: `${p}times_zero`, opType: 'Mul', inputs: [`${p}sum`, zero], outputs: [`${p}zero_f32`] },
      { name: `${p}cast`, opType: 'Cast', inputs: [`${p}zero_f32`], outputs: [`${p}zero`], attributes: [{ name: 'to', int: computeType }] },
      { name: `${p}after_tap`, opType: 'Add', inputs: [renamed, `${p}zero`], outputs: [producerOutput] },
    ];
  };
  const layerOf = new Map(chosen.map((layer) => [sites.nodes[layer]!.index, layer]));
  // the 4th output of each tapped fused attention node
  const qkOutput = (layer: number): string => `${TAP_PREFIX}l${layer}/qk`;
  const fusedOutputs = sites.shape === 'softmax' ? [] : chosen.map(qkOutput);
  const rewrite = (node: OnnxNode, raw: Uint8Array): Uint8Array | undefined => {
    const layer = layerOf.get(node.index);
    const producer = producerOf.get(node.index);
    if (layer === undefined && producer === undefined) return undefined;
    let site = raw;
    const after: NodeSpec[] = [];
    const renameOutputs = new Map<number, string>();
    if (producer) {
      const renamed = `${TAP_PREFIX}l${producer.layer}/attention_output`;
      renameOutputs.set(producer.output, renamed);
      after.push(...orderingNodes(producer.layer, node.outputs[producer.output]!, renamed));
    }
    const tap: NodeSpec[] = [];
    if (layer !== undefined) {
      let source = node.outputs[0]!;
      if (sites.shape !== 'softmax') {
        if (node.outputs.length > 3) throw new Error(`${node.opType} node ${node.name} already has an attention output`);
        source = qkOutput(layer);
      }
      tap.push(...tapNodes(layer, source));
      if (sites.shape !== 'softmax')
        site = editNode(raw, {
          renameOutputs,
          outputs: [...Array.from({ length: 3 - node.outputs.length }, () => ''), source],
          attributes: sites.shape === 'group-query-attention' && !node.attributes.has('qk_output') ? [{ name: 'qk_output', int: 2 }] : [],
        });
    }
    if (sites.shape === 'softmax' && producer) site = editNode(raw, { renameOutputs });
    return concat([nodeField(site), ...[...tap, ...after].map((n) => nodeField(encodeNode(n)))]);
  };
  const outputs = chosen.map(tapOutputName);
  // One pass over the model (one copy). Fused attention outputs are intermediate tensors whose
  // type onnxruntime cannot always infer: declare them in the model's compute type (that of its KV cache).
  const bytes = editGraph(model, {
    nodes: rewrite,
    append: {
      initializers: [...initializers, ...(producerOf.size ? [floatTensor(zero, [0], [])] : [])],
      valueInfos: fusedOutputs.map((name) => encodeValueInfo(name, computeType)),
      outputs: outputs.map((o) => encodeValueInfo(o, OnnxDataType.FLOAT, ['batch_size', 'total_sequence_length'])),
    },
  });
  return { bytes, outputs, layers: chosen };
}

/**
 * Taps that recompute each chosen fused attention node's last attention row from its query and
 * present keys (the nodes themselves are not changed): the recomputed nodes follow their node.
 */
function recomputeTaps(model: OnnxModelInfo, sites: Extract<AttentionSites, { supported: true }>, layers?: readonly number[]): TappedModel {
  const chosen = layers ?? sites.nodes.map((_, i) => i);
  const constants = new RecomputeConstants(`${TAP_PREFIX}c/`);
  const outputs = chosen.map(tapOutputName);
  // built first: the shared constants must all be known when the graph is written
  const taps = new Map(chosen.map((layer) => [sites.nodes[layer]!.index, recomputedTapNodes(sites.nodes[layer]!, model, `${TAP_PREFIX}l${layer}/`, tapOutputName(layer), constants)]));
  const bytes = editGraph(model, {
    nodes: (node, raw) => {
      const tap = taps.get(node.index);
      return tap ? concat([nodeField(raw), ...tap.map((n) => nodeField(encodeNode(n)))]) : undefined;
    },
    append: {
      initializers: constants.initializers(),
      outputs: outputs.map((o) => encodeValueInfo(o, OnnxDataType.FLOAT, ['batch_size', 'total_sequence_length'])),
    },
  });
  return { bytes, outputs, layers: chosen };
}
