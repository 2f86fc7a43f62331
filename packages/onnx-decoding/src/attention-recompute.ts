import { floatTensor, int64Tensor, OnnxDataType, type NodeSpec, type OnnxModelInfo, type OnnxNode } from '@icot/onnx-proto';

/**
 * How the tap reads the attention of fused attention nodes (com.microsoft GroupQueryAttention and
 * MultiHeadAttention):
 * - `qk-output`: the node's own attention output (GroupQueryAttention `qk_output = 2`,
 *   MultiHeadAttention's 4th output). Only onnxruntime's CPU kernels write it: the WebGPU and CUDA
 *   GroupQueryAttention kernels refuse it (`CheckNoQKOutput`) and WebGPU's MultiHeadAttention
 *   leaves it unwritten.
 * - `recompute`: the attention row of the last query position is computed again next to the node
 *   from plain ONNX operators - the node's (rotated) query of the last position against the
 *   present keys it returns, scaled, softmax, mean over heads - so the node itself runs untouched
 *   on any execution provider. Costs one [heads, 1, total] score row per tapped layer.
 */
export type FusedAttentionTap = 'qk-output' | 'recompute';

/**
 * The fused attention tap that works on `executionProviders` (names as onnxruntime takes them, or
 * `{ name }` objects): `qk-output` when every provider runs onnxruntime's CPU kernels (`cpu`, and
 * onnxruntime-web's `wasm`), else `recompute` (WebGPU, CUDA, DirectML, CoreML ... where the fused
 * node runs on the device and does not write its attention output).
 */
export function fusedAttentionTapFor(executionProviders: readonly (string | { readonly name: string })[] | undefined): FusedAttentionTap {
  const names = (executionProviders ?? ['cpu']).map((p) => (typeof p === 'string' ? p : p.name).toLowerCase());
  return names.every((name) => name === 'cpu' || name === 'wasm') ? 'qk-output' : 'recompute';
}

/** Attributes and inputs of one fused attention node, as the recomputed tap needs them. */
interface FusedAttention {
  readonly heads: number;
  readonly kvHeads: number;
  /** The query of the node: [B, S, heads * headDim], or packed QKV [B, S, (heads + 2 kvHeads) * headDim]. */
  readonly query: string;
  readonly packed: boolean;
  /** The present keys the node returns: [B, kvHeads, T, headDim] (BNSH). */
  readonly presentKey: string;
  /** 0 = 1/sqrt(headDim). */
  readonly scale: number;
  readonly softcap: number;
  /** GroupQueryAttention: seqlens_k (int32 [B], total length - 1 per row); undefined for MultiHeadAttention. */
  readonly seqlensK: string | undefined;
  /** GroupQueryAttention's local window (-1 = none). */
  readonly localWindow: number;
  /** GroupQueryAttention with do_rotary: the cos / sin caches [max positions, rotary dim / 2] and the layout. */
  readonly rotary: { readonly cos: string; readonly sin: string; readonly interleaved: boolean } | undefined;
}

const present = (name: string | undefined): name is string => name !== undefined && name !== '';

/**
 * What the recomputed tap reads from a fused attention node, or why it cannot follow the node
 * (a feature of the node it does not reproduce).
 */
function readFusedAttention(node: OnnxNode, opset: number): FusedAttention | string {
  const attr = (name: string) => node.attributes.get(name);
  const where = `${node.opType} node ${node.name || `#${node.index}`}`;
  if (opset < 13) return `the decoder uses ONNX opset ${opset}; the recomputed attention tap needs opset 13 or later`;
  const presentKey = node.outputs[1];
  if (!present(presentKey)) return `${where} returns no present key, which the recomputed tap reads`;
  const heads = attr('num_heads')?.int ?? 0;
  if (heads <= 0) return `${where} has no num_heads attribute`;
  const common = { heads, query: node.inputs[0]!, presentKey, scale: attr('scale')?.float ?? 0 };
  if (node.opType === 'GroupQueryAttention') {
    const kvHeads = attr('kv_num_heads')?.int ?? 0;
    if (kvHeads <= 0 || heads % kvHeads !== 0) return `${where} has kv_num_heads ${kvHeads}, which does not divide num_heads ${heads}`;
    const unsupported = [
      (attr('smooth_softmax')?.int ?? 0) !== 0 ? 'smooth_softmax' : undefined,
      (attr('causal')?.int ?? 1) !== 1 ? 'causal = 0' : undefined,
      (attr('sliding_window_cache')?.int ?? 0) !== 0 ? 'sliding_window_cache' : undefined,
      (attr('k_quant_type')?.string ?? 'NONE') !== 'NONE' || (attr('v_quant_type')?.string ?? 'NONE') !== 'NONE' ? 'a quantized KV cache' : undefined,
      present(node.inputs[9]) ? 'a position_ids input' : undefined,
      present(node.inputs[10]) ? 'an attention_bias input' : undefined,
      present(node.inputs[11]) ? 'a head_sink input' : undefined,
      node.inputs.slice(12).some(present) ? 'KV scales or q/k norm inputs' : undefined,
    ].filter((u): u is string => u !== undefined);
    if (unsupported.length) return `${where} uses ${unsupported.join(', ')}, which the recomputed attention tap does not reproduce`;
    const doRotary = (attr('do_rotary')?.int ?? 0) !== 0;
    if (doRotary && !(present(node.inputs[7]) && present(node.inputs[8]))) return `${where} rotates its inputs (do_rotary) but has no cos_cache / sin_cache inputs`;
    if (!present(node.inputs[5])) return `${where} has no seqlens_k input`;
    return {
      ...common,
      kvHeads,
      packed: !present(node.inputs[1]),
      softcap: attr('softcap')?.float ?? 0,
      seqlensK: node.inputs[5],
      localWindow: attr('local_window_size')?.int ?? -1,
      rotary: doRotary ? { cos: node.inputs[7]!, sin: node.inputs[8]!, interleaved: (attr('rotary_interleaved')?.int ?? 0) !== 0 } : undefined,
    };
  }
  // MultiHeadAttention: inputs query, key, value, bias, key_padding_mask, attention_bias, past_key, past_value, ...
  const unsupported = [
    present(node.inputs[3]) ? 'a bias input' : undefined,
    present(node.inputs[4]) ? 'a key_padding_mask input' : undefined,
    present(node.inputs[5]) ? 'an attention_bias input' : undefined,
    !present(node.inputs[1]) ? 'packed QKV in its query' : undefined,
    node.inputs.slice(8).some(present) ? 'past_sequence_length or cache_indirection inputs' : undefined,
  ].filter((u): u is string => u !== undefined);
  if (unsupported.length) return `${where} uses ${unsupported.join(', ')}, which the recomputed attention tap does not reproduce`;
  return { ...common, kvHeads: heads, packed: false, softcap: 0, seqlensK: undefined, localWindow: -1, rotary: undefined };
}

/**
 * Check that the recomputed tap can follow every node of `nodes` (fused attention sites):
 * undefined when it can, else the reason it cannot.
 */
export function recomputeUnsupportedReason(model: OnnxModelInfo, nodes: readonly OnnxNode[]): string | undefined {
  const opset = model.opsets.get('') ?? 13;
  for (const node of nodes) {
    const read = readFusedAttention(node, opset);
    if (typeof read === 'string') return read;
  }
  return undefined;
}

/** Constants the recomputed taps share (int64 and float initializers), added once per graph. */
export class RecomputeConstants {
  private readonly made = new Map<string, Uint8Array>();

  constructor(private readonly prefix: string) {}

  /** An int64 initializer holding `values` (shape `[values.length]`, or `dims`). */
  int64(values: readonly number[], dims?: readonly number[]): string {
    const name = `${this.prefix}i64/${values.join('_')}${dims ? `/${dims.join('x') || 'scalar'}` : ''}`;
    if (!this.made.has(name)) this.made.set(name, int64Tensor(name, values, dims ?? [values.length]));
    return name;
  }

  /** A float32 scalar initializer. */
  float(value: number): string {
    const name = `${this.prefix}f32/${value}`;
    if (!this.made.has(name)) this.made.set(name, floatTensor(name, [value], []));
    return name;
  }

  /** The encoded initializers. */
  initializers(): Uint8Array[] {
    return [...this.made.values()];
  }
}

const LOWEST_FLOAT = -3.4028234663852886e38;

/**
 * Nodes computing, next to fused attention node `node`, the last query position's attention
 * probabilities averaged over heads into `output` ([batch, total], float32), from plain operators:
 * - the node's query of the last position, as [B, heads, headDim] (the query heads of packed QKV);
 * - GroupQueryAttention with do_rotary: rotated as the node rotates it (cos / sin of position
 *   seqlens_k[b], the last position of row b; half-split or interleaved pairs; partial rotary when
 *   the caches are narrower than the head), else taken as it is (already rotated upstream, e.g.
 *   M-RoPE exports);
 * - against the present keys [B, kvHeads, T, headDim], query head h with key head
 *   floor(h / (heads / kvHeads)) (grouped-query heads are consecutive), times the node's scale
 *   (default 1/sqrt(headDim)), softcap when set, keys after seqlens_k[b] (and outside a local window)
 *   masked;
 * - softmax over keys, mean over heads, in float32 whatever the model's type.
 */
export function recomputedTapNodes(node: OnnxNode, model: OnnxModelInfo, prefix: string, output: string, constants: RecomputeConstants): NodeSpec[] {
  const read = readFusedAttention(node, model.opsets.get('') ?? 13);
  if (typeof read === 'string') throw new Error(read);
  const { heads, kvHeads } = read;
  const nodes: NodeSpec[] = [];
  let count = 0;
  const op = (opType: string, inputs: readonly string[], attributes?: NodeSpec['attributes']): string => {
    const out = `${prefix}${opType.toLowerCase()}_${count++}`;
    nodes.push({ name: out, opType, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  };
  const c = constants;
  const toFloat = (x: string): string => op('Cast', [x], [{ name: 'to', int: OnnxDataType.FLOAT }]);
  const slice = (x: string, starts: string, ends: string, axis: number): string => op('Slice', [x, starts, ends, c.int64([axis])]);
  const MAX = Number.MAX_SAFE_INTEGER;

  // [B, S, X] -> the last position [B, 1, X] -> [B, heads (+ 2 kvHeads), headDim] -> the query heads
  const last = toFloat(slice(read.query, c.int64([-1]), c.int64([MAX]), 1));
  let q = op('Reshape', [last, c.int64([0, read.packed ? heads + 2 * kvHeads : heads, -1])]);
  if (read.packed) q = slice(q, c.int64([0]), c.int64([heads]), 1);
  const keys = toFloat(read.presentKey); // [B, kvHeads, T, D]
  const keyShape = op('Shape', [read.presentKey]);

  if (read.rotary) {
    // cos / sin of the last position of each row: [B, half] -> [B, 1, half]
    const positions = read.seqlensK!;
    const angle = (cache: string): string => op('Unsqueeze', [toFloat(op('Gather', [cache, positions], [{ name: 'axis', int: 0 }])), c.int64([1])]);
    const cos = angle(read.rotary.cos);
    const sin = angle(read.rotary.sin);
    const half = op('Gather', [op('Shape', [read.rotary.cos]), c.int64([1])], [{ name: 'axis', int: 0 }]); // [1]
    const rotaryDim = op('Mul', [half, c.int64([2])]);
    const rotated = slice(q, c.int64([0]), rotaryDim, 2);
    const rest = slice(q, rotaryDim, c.int64([MAX]), 2);
    let turned: string;
    if (read.rotary.interleaved) {
      // pairs (x[2i], x[2i+1]) rotated by angle i
      const pairs = op('Reshape', [rotated, c.int64([0, 0, -1, 2])]); // [B, H, half, 2]
      const even = slice(pairs, c.int64([0]), c.int64([1]), 3);
      const odd = slice(pairs, c.int64([1]), c.int64([2]), 3);
      const cos4 = op('Unsqueeze', [cos, c.int64([3])]);
      const sin4 = op('Unsqueeze', [sin, c.int64([3])]);
      const newEven = op('Sub', [op('Mul', [even, cos4]), op('Mul', [odd, sin4])]);
      const newOdd = op('Add', [op('Mul', [odd, cos4]), op('Mul', [even, sin4])]);
      turned = op('Reshape', [op('Concat', [newEven, newOdd], [{ name: 'axis', int: 3 }]), c.int64([0, 0, -1])]);
    } else {
      // halves (x[i], x[i + half]) rotated by angle i
      const first = slice(rotated, c.int64([0]), half, 2);
      const second = slice(rotated, half, c.int64([MAX]), 2);
      const newFirst = op('Sub', [op('Mul', [first, cos]), op('Mul', [second, sin])]);
      const newSecond = op('Add', [op('Mul', [second, cos]), op('Mul', [first, sin])]);
      turned = op('Concat', [newFirst, newSecond], [{ name: 'axis', int: 2 }]);
    }
    q = op('Concat', [turned, rest], [{ name: 'axis', int: 2 }]);
  }

  // [B, heads, D] -> [B, kvHeads, group, D] x [B, kvHeads, D, T] -> [B, kvHeads, group, T]
  const grouped = op('Reshape', [q, c.int64([0, kvHeads, heads / kvHeads, -1])]);
  let scores = op('MatMul', [grouped, op('Transpose', [keys], [{ name: 'perm', ints: [0, 1, 3, 2] }])]);
  const scale =
    read.scale !== 0
      ? c.float(read.scale)
      : op('Reciprocal', [op('Sqrt', [op('Cast', [op('Gather', [keyShape, c.int64([3])], [{ name: 'axis', int: 0 }])], [{ name: 'to', int: OnnxDataType.FLOAT }])])]);
  scores = op('Mul', [scores, scale]);
  if (read.softcap > 0) scores = op('Mul', [op('Tanh', [op('Div', [scores, c.float(read.softcap)])]), c.float(read.softcap)]);
  if (read.seqlensK !== undefined) {
    // keys 0..seqlens_k[b] (and only the last local_window_size of them) are attended
    const total = op('Squeeze', [op('Gather', [keyShape, c.int64([2])], [{ name: 'axis', int: 0 }]), c.int64([0])]);
    const keyIndex = op('Range', [c.int64([0], []), total, c.int64([1], [])]); // [T]
    const lastIndex = op('Reshape', [op('Cast', [read.seqlensK], [{ name: 'to', int: OnnxDataType.INT64 }]), c.int64([-1, 1, 1, 1])]); // [B,1,1,1]
    let allowed = op('LessOrEqual', [keyIndex, lastIndex]);
    if (read.localWindow > 0) allowed = op('And', [allowed, op('Greater', [keyIndex, op('Sub', [lastIndex, c.int64([read.localWindow], [])])])]);
    scores = op('Where', [allowed, scores, c.float(LOWEST_FLOAT)]);
  }
  const probs = op('Softmax', [scores], [{ name: 'axis', int: -1 }]);
  const opset = model.opsets.get('') ?? 13;
  nodes.push(
    opset >= 18
      ? { name: `${prefix}head_mean`, opType: 'ReduceMean', inputs: [probs, c.int64([1, 2])], outputs: [output], attributes: [{ name: 'keepdims', int: 0 }] }
      : { name: `${prefix}head_mean`, opType: 'ReduceMean', inputs: [probs], outputs: [output], attributes: [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', int: 0 }] },
  );
  return nodes;
}
