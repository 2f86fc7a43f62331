import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom, type Random } from '@icot/core';
import { editGraph, editNode, float32ToFloat16, nodeField, parseOnnxModel, type OnnxModelInfo } from '@icot/onnx-proto';
import { buildDecoder, FLOAT, GraphBuilder, INT32, normal, type DecoderSpec } from '@icot/testing';
import { fusedAttentionTapFor } from './attention-recompute.js';
import { findAttentionSites, tapAttention } from './attention-tap.js';
import { prepareDecoder } from './decoder.js';

/**
 * The recomputed tap (plain operators) against onnxruntime's own attention output on the CPU
 * provider (GroupQueryAttention qk_output = 2, MultiHeadAttention's 4th output), on the same
 * inputs: the issue asks for 1e-4; float32 graphs agree to float32 rounding.
 */
const TOLERANCE = 1e-4;

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Sessions of the same graph tapped both ways. */
async function tappedBothWays(model: OnnxModelInfo, layers: number) {
  const sites = findAttentionSites(model, layers);
  if (!sites.supported) throw new Error(sites.reason);
  const viaOutput = tapAttention(model, sites, undefined, 'qk-output');
  const recomputed = tapAttention(model, sites, undefined, 'recompute');
  return {
    outputs: viaOutput.outputs,
    reference: await ort.InferenceSession.create(viaOutput.bytes),
    recomputed: await ort.InferenceSession.create(recomputed.bytes),
  };
}

describe('fusedAttentionTapFor', () => {
  it('keeps the attention output on CPU kernels only', () => {
    expect(fusedAttentionTapFor(undefined)).toBe('qk-output');
    expect(fusedAttentionTapFor(['cpu'])).toBe('qk-output');
    expect(fusedAttentionTapFor(['wasm'])).toBe('qk-output');
    expect(fusedAttentionTapFor([{ name: 'WASM' }, 'cpu'])).toBe('qk-output');
    expect(fusedAttentionTapFor(['webgpu', 'cpu'])).toBe('recompute');
    expect(fusedAttentionTapFor([{ name: 'webgpu' }])).toBe('recompute');
    expect(fusedAttentionTapFor(['cuda', 'cpu'])).toBe('recompute');
  });
});

describe('recomputed attention tap on generated decoders (onnxruntime-node CPU)', () => {
  const cases: [string, Partial<DecoderSpec>][] = [
    ['GroupQueryAttention, M-RoPE rotated upstream, 4 heads over 2 KV heads', { attention: 'group-query-attention', heads: 4, kvHeads: 2, mropeSection: [2, 3, 3] }],
    ['GroupQueryAttention, 8 heads over 2 KV heads, 1-D RoPE', { attention: 'group-query-attention', heads: 8, kvHeads: 2, hidden: 128 }],
    ['GroupQueryAttention, float16', { attention: 'group-query-attention', heads: 4, kvHeads: 2, dtype: 'fp16' }],
    ['MultiHeadAttention', { attention: 'multi-head-attention', heads: 4, kvHeads: 4 }],
  ];
  for (const [name, settings] of cases)
    it(`${name}: every layer's row equals the node's own attention output, at prefill and decode steps`, async () => {
      const spec: DecoderSpec = { hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96, vocab: 50, ropeTheta: 10000, attention: 'softmax', seed: 21, ...settings };
      const half = spec.dtype === 'fp16';
      const model = parseOnnxModel(buildDecoder(spec));
      const { outputs, reference, recomputed } = await tappedBothWays(model, spec.layers);
      const headDim = spec.hidden / spec.heads;
      const floats = (data: Float32Array, dims: number[]) => (half ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims));
      const random = createRandom(3);
      let past: Record<string, ort.Tensor> = {};
      for (let l = 0; l < spec.layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = floats(new Float32Array(0), [1, spec.kvHeads, 0, headDim]);
      let length = 0;
      for (const seq of [23, 1, 6, 1]) {
        const total = length + seq;
        const positions = BigInt64Array.from({ length: (spec.mropeSection ? 3 : 1) * seq }, (_, i) => BigInt(length + (i % seq)));
        const feeds: Record<string, ort.Tensor> = {
          ...past,
          inputs_embeds: floats(normal(random, seq * spec.hidden, 1), [1, seq, spec.hidden]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          position_ids: new ort.Tensor('int64', positions, spec.mropeSection ? [3, 1, seq] : [1, seq]),
        };
        const [a, b] = [await reference.run(feeds), await recomputed.run(feeds)];
        for (const output of outputs) {
          const row = b[output]!.data as Float32Array;
          expect(row.length).toBe(total);
          expect(maxDifference(a[output]!.data as Float32Array, row)).toBeLessThan(half ? 2e-3 : TOLERANCE);
        }
        past = {};
        for (let l = 0; l < spec.layers; l++) for (const kind of ['key', 'value']) past[`past_key_values.${l}.${kind}`] = b[`present.${l}.${kind}`]!;
        length = total;
      }
      await Promise.all([reference.release(), recomputed.release()]);
    });
});

/** Settings of a one-node GroupQueryAttention graph. */
interface GqaCase {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly packed?: boolean;
  /** do_rotary with a cos / sin cache of rotaryDim / 2 columns. */
  readonly rotary?: { readonly rotaryDim: number; readonly interleaved: boolean };
  readonly scale?: number;
  readonly softcap?: number;
  readonly localWindow?: number;
}

/** One com.microsoft GroupQueryAttention node over graph inputs, as real exports use it (past / present in BNSH). */
function gqaGraph(c: GqaCase): Uint8Array {
  const g = new GraphBuilder();
  const { heads, kvHeads, headDim } = c;
  const width = c.packed ? (heads + 2 * kvHeads) * headDim : heads * headDim;
  const inputs = [
    g.input('query', FLOAT, ['batch', 'seq', width]),
    c.packed ? '' : g.input('key', FLOAT, ['batch', 'seq', kvHeads * headDim]),
    c.packed ? '' : g.input('value', FLOAT, ['batch', 'seq', kvHeads * headDim]),
    g.input('past_key', FLOAT, ['batch', kvHeads, 'past', headDim]),
    g.input('past_value', FLOAT, ['batch', kvHeads, 'past', headDim]),
    g.input('seqlens_k', INT32, ['batch']),
    g.input('total_sequence_length', INT32, []),
    ...(c.rotary ? [g.input('cos_cache', FLOAT, [64, c.rotary.rotaryDim / 2]), g.input('sin_cache', FLOAT, [64, c.rotary.rotaryDim / 2])] : []),
  ];
  g.op(
    'GroupQueryAttention',
    inputs,
    [
      { name: 'num_heads', int: heads },
      { name: 'kv_num_heads', int: kvHeads },
      ...(c.scale !== undefined ? [{ name: 'scale', float: c.scale }] : []),
      ...(c.softcap !== undefined ? [{ name: 'softcap', float: c.softcap }] : []),
      ...(c.localWindow !== undefined ? [{ name: 'local_window_size', int: c.localWindow }] : []),
      ...(c.rotary ? [{ name: 'do_rotary', int: 1 }, { name: 'rotary_interleaved', int: c.rotary.interleaved ? 1 : 0 }] : []),
    ],
    { domain: 'com.microsoft', outputs: ['output', 'present_key', 'present_value'] },
  );
  g.output('output', 'output', FLOAT);
  g.output('present_key', 'present_key', FLOAT);
  g.output('present_value', 'present_value', FLOAT);
  return g.build(new Map([['', 17], ['com.microsoft', 1]]));
}

/** cos / sin caches of RoPE angles for 64 positions. */
function rotaryCaches(rotaryDim: number): { cos: Float32Array; sin: Float32Array } {
  const half = rotaryDim / 2;
  const cos = new Float32Array(64 * half);
  const sin = new Float32Array(64 * half);
  for (let p = 0; p < 64; p++)
    for (let i = 0; i < half; i++) {
      const angle = p / 10000 ** ((2 * i) / rotaryDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return { cos, sin };
}

describe('recomputed attention tap on GroupQueryAttention node settings (onnxruntime-node CPU)', () => {
  const cases: [string, GqaCase][] = [
    ['do_rotary, half-split pairs', { heads: 4, kvHeads: 2, headDim: 16, rotary: { rotaryDim: 16, interleaved: false } }],
    ['do_rotary, interleaved pairs', { heads: 4, kvHeads: 2, headDim: 16, rotary: { rotaryDim: 16, interleaved: true } }],
    ['do_rotary on part of the head, packed QKV', { heads: 6, kvHeads: 3, headDim: 32, packed: true, rotary: { rotaryDim: 16, interleaved: false } }],
    ['explicit scale and softcap', { heads: 4, kvHeads: 1, headDim: 8, scale: 0.3, softcap: 2 }],
    ['local window of 5', { heads: 2, kvHeads: 2, headDim: 8, localWindow: 5 }],
  ];
  for (const [name, c] of cases)
    it(`${name}: the row equals qk_output's at a prompt, then one step per row for a batch of 2`, async () => {
      const model = parseOnnxModel(gqaGraph(c));
      const { outputs, reference, recomputed } = await tappedBothWays(model, 1);
      const random: Random = createRandom(9);
      const kvWidth = c.kvHeads * c.headDim;
      const width = c.packed ? (c.heads + 2 * c.kvHeads) * c.headDim : c.heads * c.headDim;
      const caches = c.rotary ? rotaryCaches(c.rotary.rotaryDim) : undefined;
      const tensor = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
      const feedsFor = (batch: number, seq: number, pastKey: ort.Tensor, pastValue: ort.Tensor, total: number): Record<string, ort.Tensor> => ({
        query: tensor(normal(random, batch * seq * width, 1), [batch, seq, width]),
        ...(c.packed ? {} : { key: tensor(normal(random, batch * seq * kvWidth, 1), [batch, seq, kvWidth]), value: tensor(normal(random, batch * seq * kvWidth, 1), [batch, seq, kvWidth]) }),
        past_key: pastKey,
        past_value: pastValue,
        seqlens_k: new ort.Tensor('int32', new Int32Array(batch).fill(total - 1), [batch]),
        total_sequence_length: new ort.Tensor('int32', Int32Array.of(total), []),
        ...(caches ? { cos_cache: tensor(caches.cos, [64, c.rotary!.rotaryDim / 2]), sin_cache: tensor(caches.sin, [64, c.rotary!.rotaryDim / 2]) } : {}),
      });
      const empty = tensor(new Float32Array(0), [1, c.kvHeads, 0, c.headDim]);
      const prompt = feedsFor(1, 13, empty, empty, 13);
      const [a, b] = [await reference.run(prompt), await recomputed.run(prompt)];
      expect(maxDifference(a[outputs[0]!]!.data as Float32Array, b[outputs[0]!]!.data as Float32Array)).toBeLessThan(TOLERANCE);
      // a batch of two rows continuing the prompt by one position each (the batched side runs' shape)
      const tile = (t: ort.Tensor) => {
        const data = t.data as Float32Array;
        const out = new Float32Array(2 * data.length);
        out.set(data);
        out.set(data, data.length);
        return tensor(out, [2, ...t.dims.slice(1)]);
      };
      const step = feedsFor(2, 1, tile(b['present_key']!), tile(b['present_value']!), 14);
      const [a2, b2] = [await reference.run(step), await recomputed.run(step)];
      const row = b2[outputs[0]!]!.data as Float32Array;
      expect(row.length).toBe(2 * 14);
      expect(maxDifference(a2[outputs[0]!]!.data as Float32Array, row)).toBeLessThan(TOLERANCE);
      if (c.localWindow !== undefined) expect(row.subarray(0, 14 - c.localWindow).every((p) => p === 0)).toBe(true);
      await Promise.all([reference.release(), recomputed.release()]);
    });
});

describe('prepareDecoder with fusedAttentionTap', () => {
  it("recomputes on non-CPU providers, and says why when it cannot follow a node's settings", () => {
    const spec: DecoderSpec = { hidden: 32, layers: 1, heads: 4, kvHeads: 2, intermediate: 48, vocab: 20, ropeTheta: 10000, attention: 'group-query-attention', seed: 2 };
    const bytes = buildDecoder(spec);
    const recomputed = prepareDecoder(bytes, 'decoder.onnx', { fusedAttentionTap: 'recompute' });
    expect(recomputed.fusedAttentionTap).toBe('recompute');
    expect(parseOnnxModel(recomputed.bytes).nodes.find((n) => n.opType === 'GroupQueryAttention')!.attributes.has('qk_output')).toBe(false);
    expect(prepareDecoder(bytes, 'decoder.onnx').fusedAttentionTap).toBe('qk-output');
    // a GroupQueryAttention with smooth_softmax: not reproduced, so no taps (plain decoding still loads)
    const smooth = prepareDecoder(withGqaAttribute(parseOnnxModel(bytes), 'smooth_softmax'), 'decoder.onnx', { fusedAttentionTap: 'recompute' });
    expect(smooth.tapOutputs).toBeUndefined();
    expect(smooth.unavailableReason).toMatch(/smooth_softmax, which the recomputed attention tap does not reproduce.*executionProviders: \['cpu'\]/);
  });
});

/** `model` with the int attribute `name` = 1 added to its GroupQueryAttention nodes. */
function withGqaAttribute(model: OnnxModelInfo, name: string): Uint8Array {
  return editGraph(model, { nodes: (node, raw) => (node.opType === 'GroupQueryAttention' ? nodeField(editNode(raw, { attributes: [{ name, int: 1 }] })) : undefined) });
}
