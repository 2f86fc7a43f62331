import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom } from '@icot/core';
import { encodeModel, encodeValueInfo, float16ToFloat32, float32ToFloat16, OnnxDataType, parseOnnxModel } from '@icot/onnx-proto';
import { normal, TINY_DTYPE_VARIANTS, TINY_MODEL_VARIANTS, WEIGHT_DTYPE_SUFFIX, writeTinyQwen2Vl, type TinyModelInfo, type WeightDtype } from '@icot/testing';
import { findAttentionSites, SUPPORTED_ATTENTION_SHAPES, tapAttention } from './attention-tap.js';

const VARIANTS = [...TINY_MODEL_VARIANTS, ...TINY_DTYPE_VARIANTS];

/**
 * Largest difference allowed between a tapped row and softmax(QK^T/sqrt(d)) computed in float64
 * from the layer's own queries and keys (the reference sees the same quantized weights, since it
 * starts from the layer's outputs): float32 attention (fp32; q4: 4-bit weights, float32
 * activations) agrees to float32 rounding; float16 attention (fp16, q4f16) rounds the scores to
 * float16 before its float32 softmax: a relative 2^-11 of a score s moves a probability p by about
 * p x 2^-11 x |s|, under 5e-4 for |s| < 4 and p < 0.25 (the tiny models' rows).
 */
const TAP_TOLERANCE: Record<WeightDtype, number> = { fp32: 1e-5, q4: 1e-5, fp16: 5e-4, q4f16: 5e-4 };

const asFloat32 = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));

const root = await mkdtemp(join(tmpdir(), 'icot-tap-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** softmax(q k^T / sqrt(d)) of the last query over all keys, mean over heads, computed in TypeScript. */
function referenceRow(query: Float32Array, seq: number, keys: Float32Array, total: number, heads: number, kvHeads: number, headDim: number): Float64Array {
  const row = new Float64Array(total);
  const rep = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const kv = Math.floor(h / rep);
    const q = query.subarray((seq - 1) * heads * headDim + h * headDim, (seq - 1) * heads * headDim + (h + 1) * headDim);
    const scores = new Float64Array(total);
    let max = -Infinity;
    for (let j = 0; j < total; j++) {
      let dot = 0;
      const k = keys.subarray((kv * total + j) * headDim, (kv * total + j + 1) * headDim);
      for (let d = 0; d < headDim; d++) dot += q[d]! * k[d]!;
      scores[j] = dot / Math.sqrt(headDim);
      max = Math.max(max, scores[j]!);
    }
    let sum = 0;
    for (let j = 0; j < total; j++) sum += scores[j] = Math.exp(scores[j]! - max);
    for (let j = 0; j < total; j++) row[j]! += scores[j]! / sum / heads;
  }
  return row;
}

VARIANTS.forEach((variant, index) => {
  const dtype = variant.settings.dtype ?? 'fp32';
  const tolerance = TAP_TOLERANCE[dtype];
  const decoderFile = () => join(info.dir, 'onnx', `decoder_model_merged${WEIGHT_DTYPE_SUFFIX[dtype]}.onnx`);
  let info: TinyModelInfo;
  describe(`attention tap on ${variant.name}`, () => {
    beforeAll(async () => {
      info = await variant.write(join(root, String(index)), { ...variant.settings, exposeQueries: [0, variant.settings.layers! - 1] });
    });

    it('the tap finds one attention site per layer of the right shape', async () => {
      const model = parseOnnxModel(new Uint8Array(await readFile(decoderFile())));
      const sites = findAttentionSites(model, info.decoder.layers);
      expect(sites.supported && sites.shape).toBe(variant.shape);
    });

    it(`the tapped row equals softmax(QK^T/sqrt(d)) computed from the layer's Q and K, at prefill and at a decode step (${tolerance})`, async () => {
      const { hidden, heads, kvHeads, layers } = info.decoder;
      const headDim = hidden / heads;
      const half = dtype === 'fp16' || dtype === 'q4f16';
      const floats = (data: Float32Array, dims: number[]) => (half ? new ort.Tensor('float16', float32ToFloat16(data), dims) : new ort.Tensor('float32', data, dims));
      const model = parseOnnxModel(new Uint8Array(await readFile(decoderFile())));
      const sites = findAttentionSites(model, layers);
      if (!sites.supported) throw new Error(sites.reason);
      const tapped = tapAttention(model, sites);
      const session = await ort.InferenceSession.create(tapped.bytes);
      const random = createRandom(5);
      const mrope = info.decoder.mropeSection !== undefined;
      const run = async (seq: number, past: number, pastTensors: Record<string, ort.Tensor>) => {
        const total = past + seq;
        const positions = mrope
          ? BigInt64Array.from({ length: 3 * seq }, (_, i) => BigInt(past + (i % seq) + (i >= seq && i % seq > 3 ? Math.floor(i / seq) : 0)))
          : BigInt64Array.from({ length: seq }, (_, i) => BigInt(past + i));
        const feeds: Record<string, ort.Tensor> = {
          ...pastTensors,
          inputs_embeds: floats(normal(random, seq * hidden, 1), [1, seq, hidden]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          position_ids: new ort.Tensor('int64', positions, mrope ? [3, 1, seq] : [1, seq]),
        };
        const out = await session.run(feeds);
        for (const layer of [0, layers - 1]) {
          const expected = referenceRow(asFloat32(out[`debug.query.${layer}`]!), seq, asFloat32(out[`present.${layer}.key`]!), total, heads, kvHeads, headDim);
          const got = out[tapped.outputs[layer]!]!.data as Float32Array;
          expect(got.length).toBe(total);
          let maxDiff = 0;
          for (let j = 0; j < total; j++) maxDiff = Math.max(maxDiff, Math.abs(got[j]! - expected[j]!));
          expect(maxDiff).toBeLessThan(tolerance);
        }
        const presents: Record<string, ort.Tensor> = {};
        for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) presents[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
        return presents;
      };
      const empty: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) empty[`past_key_values.${l}.${kind}`] = floats(new Float32Array(0), [1, kvHeads, 0, headDim]);
      const afterPrefill = await run(37, 0, empty);
      const afterStep = await run(1, 37, afterPrefill);
      await run(5, 38, afterStep);
      await session.release();
    });
  });
});

describe('findAttentionSites', () => {
  it('explains graphs it cannot read, naming the supported shapes', () => {
    const model = parseOnnxModel(
      encodeModel({
        graph: {
          nodes: [{ name: 'relu', opType: 'Relu', inputs: ['x'], outputs: ['y'] }],
          inputs: [encodeValueInfo('x', OnnxDataType.FLOAT, [2])],
          outputs: [encodeValueInfo('y', OnnxDataType.FLOAT, [2])],
        },
      }),
    );
    const sites = findAttentionSites(model, 1);
    expect(sites.supported).toBe(false);
    if (!sites.supported) {
      expect(sites.reason).toContain('no Softmax that feeds a MatMul');
      expect(sites.reason).toContain(SUPPORTED_ATTENTION_SHAPES);
    }
  });

  it('refuses attention sites that do not match the layer count', async () => {
    const info = await writeTinyQwen2Vl(join(root, 'count'), { layers: 2 });
    const model = parseOnnxModel(new Uint8Array(await readFile(join(info.dir, 'onnx', 'decoder_model_merged.onnx'))));
    const sites = findAttentionSites(model, 3);
    expect(sites.supported).toBe(false);
    if (!sites.supported) expect(sites.reason).toMatch(/found 2 attention Softmax nodes but the decoder has 3 layers/);
  });
});
