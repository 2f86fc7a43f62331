import { editGraph, editNode, encodeNode, encodeValueInfo, int64Tensor, nodeField, type OnnxModelInfo, type OnnxNode } from '@icot/onnx-proto';

/** Prefix of every name the logits edit adds to a graph. */
export const LOGITS_PREFIX = 'icot_logits/';

/** Inputs by which exports choose how many trailing positions get logits (transformers.js feeds `num_logits_to_keep`). */
export const LOGITS_TO_KEEP_INPUTS = ['num_logits_to_keep', 'logits_to_keep'] as const;

/** How a prepared decoder limits its logits to the last position. */
export type LogitsRows =
  /** The graph slices the activation to the last position right before the output projection. */
  | { readonly rows: 'last'; readonly how: 'sliced-before-projection'; readonly projection: string }
  /** The export's own input (`num_logits_to_keep` / `logits_to_keep`) is fed 1. */
  | { readonly rows: 'last'; readonly how: 'logits-to-keep-input'; readonly input: string; readonly inputRank: number }
  /** The graph is unchanged and returns logits for every position of a step; `reason` says why. */
  | { readonly rows: 'all'; readonly reason: string };

/** Ops between the output projection and the `logits` output that keep every value where it is. */
const PASS_THROUGH = new Set(['Cast', 'Identity']);

/** The node whose output projection gives `logits`, or why it cannot be found. */
export type LogitsProjection = { readonly found: true; readonly node: OnnxNode } | { readonly found: false; readonly reason: string };

/**
 * Find the output projection (lm_head) behind the graph output `logits`: a MatMul, or a
 * com.microsoft MatMulNBits (4-bit exports), followed only by Casts / Identities, whose output
 * feeds nothing else, with `logits` declared as [batch, sequence, vocab]. For such a node,
 * logits[:, -1:, :] = projection(activation[:, -1:, :]), since each row of a matrix product
 * depends only on the same row of its left operand.
 */
export function findLogitsProjection(model: OnnxModelInfo): LogitsProjection {
  const output = model.outputs.find((o) => o.name === 'logits');
  if (!output) return { found: false, reason: 'the graph has no output named logits' };
  if (output.dims?.length !== 3) return { found: false, reason: `logits is declared with ${output.dims ? `rank ${output.dims.length}` : 'no shape'}, not [batch, sequence, vocab]` };
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, number>();
  for (const node of model.nodes) {
    for (const o of node.outputs) producer.set(o, node);
    for (const i of node.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  }
  const graphOutputs = new Set(model.outputs.map((o) => o.name));
  let tensor = 'logits';
  for (let depth = 0; depth < 8; depth++) {
    const node = producer.get(tensor);
    if (!node) return { found: false, reason: 'logits is not computed by a node' };
    const isMatMul = node.opType === 'MatMul' && node.domain === '';
    const isMatMulNBits = node.opType === 'MatMulNBits' && node.domain === 'com.microsoft';
    if (isMatMul || isMatMulNBits) {
      const activation = node.inputs[0];
      if (!activation) return { found: false, reason: `${node.opType} node ${node.name} has no activation input` };
      if (model.initializerNames.has(activation)) return { found: false, reason: `the left operand of ${node.opType} node ${node.name} is a constant` };
      return { found: true, node };
    }
    if (!PASS_THROUGH.has(node.opType) || node.domain !== '' || node.inputs.length !== 1) {
      return { found: false, reason: `logits comes from a ${node.domain ? `${node.domain}.` : ''}${node.opType} node (${node.name}), not from a MatMul or MatMulNBits projection (through Cast / Identity)` };
    }
    tensor = node.inputs[0]!;
    if ((consumers.get(tensor) ?? 0) !== 1 || graphOutputs.has(tensor)) return { found: false, reason: `${tensor}, on the way to logits, is also used elsewhere` };
  }
  return { found: false, reason: 'logits is more than 8 Cast / Identity nodes away from its projection' };
}

/**
 * A copy of `model` whose output projection reads only the last position: a Slice of the
 * activation to [batch, 1, hidden] right before it, so the graph computes, and returns,
 * [batch, 1, vocab] logits (one row instead of one per input position). The `logits` output's
 * declared sequence dimension becomes 1.
 */
export function sliceLogitsToLastPosition(model: OnnxModelInfo, projection: OnnxNode): Uint8Array {
  const starts = `${LOGITS_PREFIX}starts`;
  const ends = `${LOGITS_PREFIX}ends`;
  const axes = `${LOGITS_PREFIX}axes`;
  const sliced = `${LOGITS_PREFIX}last_position`;
  return editGraph(model, {
    nodes: (node, raw) => {
      if (node.index !== projection.index) return undefined;
      const slice = nodeField(encodeNode({ name: `${LOGITS_PREFIX}slice`, opType: 'Slice', inputs: [node.inputs[0]!, starts, ends, axes], outputs: [sliced] }));
      const projected = nodeField(editNode(raw, { renameInputs: new Map([[0, sliced]]) }));
      const out = new Uint8Array(slice.length + projected.length);
      out.set(slice);
      out.set(projected, slice.length);
      return out;
    },
    outputs: (o) => {
      if (o.name !== 'logits') return undefined;
      const [batch, , vocab] = o.dims!;
      return encodeValueInfo(o.name, o.elemType, [batch ?? 'batch_size', 1, vocab ?? 'vocab_size']);
    },
    // the position axis is the second to last of the activation ([batch, sequence, hidden])
    append: { initializers: [int64Tensor(starts, [-1]), int64Tensor(ends, [Number.MAX_SAFE_INTEGER]), int64Tensor(axes, [-2])] },
  });
}
