import { createRandom, type Random } from '@icot/core';
import { float32ToFloat16 } from '@icot/onnx-proto';
import { FLOAT, FLOAT16, GraphBuilder, INT32, INT64, UINT8, type GraphBuilderOptions } from './graph-builder.js';
import { halfActivations, NormalStream, Q4_BLOCK_SIZE, Q4Quantizer, quantizedWeights, type WeightDtype } from './weights.js';

/** How a generated decoder computes attention. */
export type AttentionKind = 'softmax' | 'group-query-attention' | 'multi-head-attention';

/** Shape of a generated decoder. */
export interface DecoderSpec {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly intermediate: number;
  readonly vocab: number;
  readonly ropeTheta: number;
  /** M-RoPE sections (position_ids [3,B,S]); absent for 1-D RoPE (position_ids [B,S]). */
  readonly mropeSection?: readonly [number, number, number];
  readonly attention: AttentionKind;
  readonly seed: number;
  /** Standard deviation of the random weights (default 0.1). */
  readonly init?: number;
  readonly rmsEps?: number;
  /** Also output the rotated queries of these layers as `debug.query.{i}` ([B,S,heads*headDim]). */
  readonly exposeQueries?: readonly number[];
  /** Weight variant (default fp32); see {@link WeightDtype}. */
  readonly dtype?: WeightDtype;
  /**
   * Add the `num_logits_to_keep` input (int64 scalar) of exports that have one: logits for the
   * last n positions, all of them for 0.
   */
  readonly logitsToKeepInput?: boolean;
  /**
   * Take `input_ids` [B,S] int64 and look the embeddings up in a table inside the graph (a Gather
   * of a [vocab, hidden] table drawn from seed + 7; float16 in half-precision variants, never
   * quantized), as Chameleon-class exports do, instead of the `inputs_embeds` input.
   */
  readonly inputIds?: boolean;
  /**
   * Chameleon's q/k LayerNorm: queries and keys are normalised over each head (LayerNorm over the
   * head dimension, then a per-head weight and bias of shape [heads, headDim]) before RoPE.
   */
  readonly qkNorm?: boolean;
}

/**
 * A linear layer `x @ W` for a [inDim, outDim] weight of normal(0, std) values drawn from `random`
 * in row-major order (the same draws for every dtype): a MatMul with a float32 or float16 weight,
 * or a com.microsoft MatMulNBits (bits 4, blocks of 32) with the weight quantized. Weights are
 * generated a block of rows at a time, so large ones are never held whole as float32.
 */
export function linearLayer(g: GraphBuilder, x: string, name: string, inDim: number, outDim: number, random: Random, std: number, dtype: WeightDtype): string {
  if (quantizedWeights(dtype)) {
    const normals = new NormalStream(random, std);
    const half = halfActivations(dtype);
    const quantizer = new Q4Quantizer(inDim, outDim, half);
    const rows = new Float32Array(Q4_BLOCK_SIZE * outDim);
    for (let k = 0; k < inDim; k += Q4_BLOCK_SIZE) {
      const count = Math.min(Q4_BLOCK_SIZE, inDim - k);
      quantizer.addBlock(normals.fill(rows.subarray(0, count * outDim)));
    }
    const q = quantizer.finish();
    const kBlocks = quantizer.kBlocks;
    const packed = g.tensor(`${name}.weight_Q4`, UINT8, [outDim, kBlocks, Q4_BLOCK_SIZE / 2], q.packed);
    const scaleData = half ? float32ToFloat16(q.scales) : q.scales;
    const scales = g.tensor(`${name}.weight_scales`, half ? FLOAT16 : FLOAT, [outDim, kBlocks], new Uint8Array(scaleData.buffer, scaleData.byteOffset, scaleData.byteLength));
    const zeroPoints = g.tensor(`${name}.weight_zp`, UINT8, [outDim, Math.ceil(kBlocks / 2)], q.zeroPoints);
    return g.op('MatMulNBits', [x, packed, scales, zeroPoints], [
      { name: 'K', int: inDim },
      { name: 'N', int: outDim },
      { name: 'bits', int: 4 },
      { name: 'block_size', int: Q4_BLOCK_SIZE },
    ], { domain: 'com.microsoft' });
  }
  return g.op('MatMul', [x, normalWeight(g, name, [inDim, outDim], random, std, dtype === 'fp16' ? FLOAT16 : FLOAT)]);
}

/**
 * A float32 (or float16) initializer of normal(0, std) values from `random`, generated about a
 * megabyte at a time straight into the initializer (or its external data file), never held whole.
 * The values are those of `GraphBuilder.randomWeight` for the same random state.
 */
export function normalWeight(g: GraphBuilder, name: string, dims: readonly number[], random: Random, std: number, dataType: number = FLOAT): string {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dataType === FLOAT && count < 1 << 20) return g.randomWeight(name, dims, random, std);
  const normals = new NormalStream(random, std);
  const elementBytes = dataType === FLOAT16 ? 2 : 4;
  return g.streamTensor(name, dataType, dims, count * elementBytes, (put) => {
    const chunk = new Float32Array(1 << 18);
    for (let done = 0; done < count; done += chunk.length) {
      const values = normals.fill(chunk.subarray(0, Math.min(chunk.length, count - done)));
      const data = dataType === FLOAT16 ? float32ToFloat16(values) : values;
      put(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  });
}

/** Approximate bytes of a generated decoder's weights (to decide on external data). */
export function decoderWeightBytes(spec: DecoderSpec): number {
  const { hidden, layers, heads, kvHeads, intermediate, vocab } = spec;
  const headDim = hidden / heads;
  const matrices = layers * (hidden * heads * headDim + 2 * hidden * kvHeads * headDim + hidden * hidden + 3 * hidden * intermediate) + hidden * vocab;
  const dtype = spec.dtype ?? 'fp32';
  const perWeight = dtype === 'fp32' ? 4 : dtype === 'fp16' ? 2 : 0.5 + (halfActivations(dtype) ? 2 : 4) / Q4_BLOCK_SIZE + 0.5 / Q4_BLOCK_SIZE;
  const table = spec.inputIds ? vocab * hidden * (halfActivations(dtype) ? 2 : 4) : 0;
  return Math.ceil(matrices * perWeight) + table;
}

/**
 * A decoder graph in the onnx-community contract (`inputs_embeds`, `attention_mask`,
 * `position_ids`, `past_key_values.{i}.key/value` -> `logits`, `present.{i}.key/value`): RMSNorm,
 * RoPE / M-RoPE, grouped-query attention with a KV cache, SwiGLU MLP, random weights. With
 * `spec.inputIds` it takes `input_ids` instead (embedding table inside the graph), with
 * `spec.qkNorm` it adds Chameleon's q/k LayerNorm. Its attention
 * is built as plain MatMul -> Softmax -> MatMul, or as one com.microsoft GroupQueryAttention or
 * MultiHeadAttention node per layer.
 *
 * `spec.dtype` picks the weight variant. With float16 activations (fp16, q4f16) every graph input
 * and output but `attention_mask` / `position_ids` is float16, as in onnx-community fp16 exports;
 * RMSNorm, the RoPE angles and plain attention's masked Softmax run in float32 between Casts, as
 * the Hugging Face implementation upcasts them. `options.externalData` streams weights to an
 * external data file (models over 2 GB must use one).
 */
export function buildDecoder(spec: DecoderSpec, options: GraphBuilderOptions = {}): Uint8Array {
  const { hidden, layers, heads, kvHeads, intermediate, vocab } = spec;
  const dtype = spec.dtype ?? 'fp32';
  const act = halfActivations(dtype) ? FLOAT16 : FLOAT;
  const toAct = (x: string): string => (act === FLOAT ? x : g.op('Cast', [x], [{ name: 'to', int: act }]));
  const toFloat = (x: string): string => (act === FLOAT ? x : g.op('Cast', [x], [{ name: 'to', int: FLOAT }]));
  const headDim = hidden / heads;
  const half = headDim / 2;
  const rep = heads / kvHeads;
  if (!Number.isInteger(headDim) || headDim % 2 || !Number.isInteger(rep)) throw new Error('buildDecoder: hidden/heads must be even and heads a multiple of kvHeads');
  if (spec.attention === 'multi-head-attention' && kvHeads !== heads) throw new Error('buildDecoder: MultiHeadAttention needs kvHeads === heads');
  const random = createRandom(spec.seed);
  const std = spec.init ?? 0.1;
  const eps = spec.rmsEps ?? 1e-6;
  const g = new GraphBuilder('', options);
  const embeds = spec.inputIds
    ? g.op('Gather', [normalWeight(g, 'embed_tokens.weight', [vocab, hidden], createRandom(spec.seed + 7), 1, act), g.input('input_ids', INT64, ['batch_size', 'sequence_length'])])
    : g.input('inputs_embeds', act, ['batch_size', 'sequence_length', hidden]);
  const mask = g.input('attention_mask', INT64, ['batch_size', 'total_sequence_length']);
  const positions = g.input('position_ids', INT64, spec.mropeSection ? [3, 'batch_size', 'sequence_length'] : ['batch_size', 'sequence_length']);
  for (let l = 0; l < layers; l++)
    for (const kind of ['key', 'value']) g.input(`past_key_values.${l}.${kind}`, act, ['batch_size', kvHeads, 'past_sequence_length', headDim]);

  // RoPE angles [B,1,S,headDim]
  const invFreq = Array.from({ length: half }, (_, j) => 1 / spec.ropeTheta ** ((2 * j) / headDim));
  const posF = g.op('Cast', [positions], [{ name: 'to', int: FLOAT }]);
  let angles: string;
  if (spec.mropeSection) {
    const axisOf: number[] = [];
    spec.mropeSection.forEach((n, axis) => axisOf.push(...Array.from({ length: n }, () => axis)));
    if (axisOf.length !== half) throw new Error('buildDecoder: mrope sections must add up to headDim / 2');
    const perDim = g.op('Gather', [posF, g.int64(axisOf)], [{ name: 'axis', int: 0 }]); // [half,B,S]
    angles = g.op('Mul', [g.op('Transpose', [perDim], [{ name: 'perm', ints: [1, 2, 0] }]), g.float(invFreq, [half])]);
  } else {
    angles = g.op('Mul', [g.op('Unsqueeze', [posF, g.int64([-1])]), g.float(invFreq, [half])]);
  }
  const full = g.op('Concat', [angles, angles], [{ name: 'axis', int: -1 }]);
  const cos = g.op('Unsqueeze', [toAct(g.op('Cos', [full])), g.int64([1])]);
  const sin = g.op('Unsqueeze', [toAct(g.op('Sin', [full])), g.int64([1])]);
  const rotate = (x: string): string => {
    const [x1, x2] = g.op('Split', [x, g.int64([half, half])], [{ name: 'axis', int: -1 }], { outputs: 2 });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [g.op('Concat', [g.op('Neg', [x2!]), x1!], [{ name: 'axis', int: -1 }]), sin])]);
  };
  const rmsNorm = (input: string, name: string): string => {
    const w = g.weight(name, Array.from({ length: hidden }, () => 1 + 0.1 * (random.next() * 2 - 1)), [hidden], act);
    const x = toFloat(input);
    const meanSquare = g.op('ReduceMean', [g.op('Mul', [x, x])], [{ name: 'axes', ints: [-1] }, { name: 'keepdims', int: 1 }]);
    return g.op('Mul', [toAct(g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSquare, g.float([eps])])])])), w]);
  };
  const linear = (x: string, name: string, inDim: number, outDim: number): string => linearLayer(g, x, name, inDim, outDim, random, std, dtype);
  // Chameleon's q/k norm on [B,S,n,D]: LayerNorm over D (float32), then weight and bias [n,D]; drawn from their own stream.
  const normRandom = createRandom(spec.seed + 3);
  const headNorm = (x: string, name: string, n: number): string => {
    const affine = (offset: number, spread: number): number[] => Array.from({ length: n * headDim }, () => offset + spread * (normRandom.next() * 2 - 1));
    const weight = g.weight(`${name}.weight`, affine(1, 0.1), [n, headDim], act);
    const bias = g.weight(`${name}.bias`, affine(0, 0.05), [n, headDim], act);
    const unit = g.op('LayerNormalization', [toFloat(x), g.float(new Array<number>(headDim).fill(1), [headDim]), g.float(new Array<number>(headDim).fill(0), [headDim])], [
      { name: 'axis', int: -1 },
      { name: 'epsilon', float: 1e-5 }, // torch.nn.LayerNorm's default, which Chameleon's q/k norm keeps
    ]);
    return g.op('Add', [g.op('Mul', [toAct(unit), weight]), bias]);
  };
  // [B,S,n*D] -> [B,n,S,D] (with the q/k norm applied per head when `norm` names it)
  const splitHeads = (x: string, n: number, norm?: string): string => {
    const heads4 = g.op('Reshape', [x, g.int64([0, 0, n, headDim])]);
    return g.op('Transpose', [norm && spec.qkNorm ? headNorm(heads4, norm, n) : heads4], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
  };
  const mergeHeads = (x: string): string => g.op('Reshape', [g.op('Transpose', [x], [{ name: 'perm', ints: [0, 2, 1, 3] }]), g.int64([0, 0, hidden])]);

  // Additive mask for plain attention: causal within the new tokens, padding from attention_mask.
  let additiveMask = '';
  if (spec.attention === 'softmax') {
    const total = g.op('Gather', [g.op('Shape', [mask]), g.int64([1])], [{ name: 'axis', int: 0 }]); // [1]
    const seq = g.op('Gather', [g.op('Shape', [embeds]), g.int64([1])], [{ name: 'axis', int: 0 }]);
    const totalScalar = g.op('Squeeze', [total, g.int64([0])]);
    const seqScalar = g.op('Squeeze', [seq, g.int64([0])]);
    const keys = g.op('Range', [g.int64([0], []), totalScalar, g.int64([1], [])]); // [T]
    const queries = g.op('Range', [g.op('Sub', [totalScalar, seqScalar]), totalScalar, g.int64([1], [])]); // [S]
    const allowed = g.op('LessOrEqual', [g.op('Unsqueeze', [keys, g.int64([0])]), g.op('Unsqueeze', [queries, g.int64([1])])]); // [S,T]
    const padding = g.op('Unsqueeze', [g.op('Cast', [mask], [{ name: 'to', int: 9 }]), g.int64([1, 2])]); // [B,1,1,T] bool
    const both = g.op('And', [allowed, padding]);
    additiveMask = g.op('Where', [both, g.float([0]), g.float([-1e9])]);
  }
  // GroupQueryAttention extras
  let seqlensK = '';
  let totalLength = '';
  if (spec.attention === 'group-query-attention') {
    seqlensK = g.op('Cast', [g.op('Sub', [g.op('ReduceSum', [mask, g.int64([1])], [{ name: 'keepdims', int: 0 }]), g.int64([1], [])])], [{ name: 'to', int: INT32 }]);
    totalLength = g.op('Cast', [g.op('Squeeze', [g.op('Gather', [g.op('Shape', [mask]), g.int64([1])], [{ name: 'axis', int: 0 }]), g.int64([0])])], [{ name: 'to', int: INT32 }]);
  }

  let x = embeds;
  for (let l = 0; l < layers; l++) {
    const h = rmsNorm(x, `layers.${l}.input_norm`);
    const q = rotate(splitHeads(linear(h, `layers.${l}.q_proj`, hidden, heads * headDim), heads, `layers.${l}.q_norm`)); // [B,H,S,D]
    const k = rotate(splitHeads(linear(h, `layers.${l}.k_proj`, hidden, kvHeads * headDim), kvHeads, `layers.${l}.k_norm`)); // [B,KV,S,D]
    const v = linear(h, `layers.${l}.v_proj`, hidden, kvHeads * headDim); // [B,S,KV*D]
    const pastKey = `past_key_values.${l}.key`;
    const pastValue = `past_key_values.${l}.value`;
    const presentKey = `present.${l}.key`;
    const presentValue = `present.${l}.value`;
    if (spec.exposeQueries?.includes(l)) g.output(mergeHeads(q), `debug.query.${l}`, act, ['batch_size', 'sequence_length', hidden]);
    let attended: string; // [B,S,H*D]
    if (spec.attention === 'softmax') {
      g.op('Concat', [pastKey, k], [{ name: 'axis', int: 2 }], { outputs: [presentKey] });
      g.op('Concat', [pastValue, splitHeads(v, kvHeads)], [{ name: 'axis', int: 2 }], { outputs: [presentValue] });
      const expand = (t: string): string =>
        rep === 1 ? t : g.op('Reshape', [g.op('Tile', [g.op('Unsqueeze', [t, g.int64([2])]), g.int64([1, 1, rep, 1, 1])]), g.int64([0, heads, -1, headDim])]);
      const scaled = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [expand(presentKey)], [{ name: 'perm', ints: [0, 1, 3, 2] }])]), g.float([1 / Math.sqrt(headDim)], [], act)]);
      const scores = g.op('Add', [toFloat(scaled), additiveMask]);
      const probs = toAct(g.op('Softmax', [scores], [{ name: 'axis', int: -1 }]));
      attended = mergeHeads(g.op('MatMul', [probs, expand(presentValue)]));
    } else if (spec.attention === 'group-query-attention') {
      const [out] = g.op(
        'GroupQueryAttention',
        [mergeHeads(q), g.op('Reshape', [g.op('Transpose', [k], [{ name: 'perm', ints: [0, 2, 1, 3] }]), g.int64([0, 0, kvHeads * headDim])]), v, pastKey, pastValue, seqlensK, totalLength],
        [
          { name: 'num_heads', int: heads },
          { name: 'kv_num_heads', int: kvHeads },
          { name: 'scale', float: 1 / Math.sqrt(headDim) },
        ],
        { domain: 'com.microsoft', outputs: [`gqa_out.${l}`, presentKey, presentValue] },
      );
      attended = out!;
    } else {
      const [out] = g.op(
        'MultiHeadAttention',
        [mergeHeads(q), g.op('Reshape', [g.op('Transpose', [k], [{ name: 'perm', ints: [0, 2, 1, 3] }]), g.int64([0, 0, hidden])]), v, '', '', '', pastKey, pastValue],
        [
          { name: 'num_heads', int: heads },
          { name: 'unidirectional', int: 1 },
          { name: 'scale', float: 1 / Math.sqrt(headDim) },
        ],
        { domain: 'com.microsoft', outputs: [`mha_out.${l}`, presentKey, presentValue] },
      );
      attended = out!;
    }
    x = g.op('Add', [x, linear(attended, `layers.${l}.o_proj`, hidden, hidden)]);
    const h2 = rmsNorm(x, `layers.${l}.post_norm`);
    const gate = linear(h2, `layers.${l}.gate_proj`, hidden, intermediate);
    const up = linear(h2, `layers.${l}.up_proj`, hidden, intermediate);
    const gated = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(gated, `layers.${l}.down_proj`, intermediate, hidden)]);
  }
  let final = rmsNorm(x, 'norm');
  if (spec.logitsToKeepInput) {
    // hidden[:, -n:, :] (n = 0 keeps every position: -0 = 0)
    const keep = g.input('num_logits_to_keep', INT64, []);
    final = g.op('Slice', [final, g.op('Neg', [g.op('Unsqueeze', [keep, g.int64([0])])]), g.int64([Number.MAX_SAFE_INTEGER]), g.int64([1])]);
  }
  const logits = linear(final, 'lm_head', hidden, vocab);
  g.output(logits, 'logits', act, ['batch_size', 'sequence_length', vocab]);
  for (let l = 0; l < layers; l++)
    for (const kind of ['key', 'value']) g.output(`present.${l}.${kind}`, `present.${l}.${kind}`, act, ['batch_size', kvHeads, 'total_sequence_length', headDim]);
  const opsets = new Map([['', 17]]);
  if (spec.attention !== 'softmax' || quantizedWeights(dtype)) opsets.set('com.microsoft', 1);
  return g.build(opsets);
}
