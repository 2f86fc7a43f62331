import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom } from '@icot/core';
import { float16ToFloat32, float32ToFloat16, parseOnnxModel } from '@icot/onnx-proto';
import { linearLayer, normalWeight, type DecoderSpec } from './decoder.js';
import { FLOAT, FLOAT16, GraphBuilder, normal } from './graph-builder.js';
import { writeDecoder } from './vlm-folders.js';
import { dequantizeQ4, NormalStream, Q4Quantizer, type WeightDtype } from './weights.js';

const root = await mkdtemp(join(tmpdir(), 'icot-weights-'));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('NormalStream', () => {
  it('draws the same values as one normal() call, whatever the pieces', () => {
    const whole = normal(createRandom(3), 1001, 0.5);
    const stream = new NormalStream(createRandom(3), 0.5);
    const pieces = new Float32Array(1001);
    for (const [from, to] of [[0, 1], [1, 4], [4, 333], [333, 1001]] as const) stream.fill(pieces.subarray(from, to));
    expect(Array.from(pieces)).toEqual(Array.from(whole));
  });
});

/** x @ W in float64, W [K, N] row-major. */
function matmul(x: Float32Array, rows: number, w: Float32Array, k: number, n: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < k; i++) {
      const a = x[r * k + i]!;
      for (let j = 0; j < n; j++) out[r * n + j]! += a * w[i * n + j]!;
    }
  return out;
}

describe('4-bit MatMulNBits weights', () => {
  it('dequantize to within half a step of the float weights, with per-block scales and zero points', () => {
    const [k, n] = [96, 5];
    const w = normal(createRandom(9), k * n, 1);
    const quantizer = new Q4Quantizer(k, n, false);
    for (let b = 0; b < k / 32; b++) quantizer.addBlock(w.subarray(b * 32 * n, (b + 1) * 32 * n));
    const q = quantizer.finish();
    const back = dequantizeQ4(q);
    for (let col = 0; col < n; col++)
      for (let kb = 0; kb < 3; kb++) {
        const scale = q.scales[col * 3 + kb]!;
        expect(scale).toBeGreaterThan(0);
        for (let r = kb * 32; r < (kb + 1) * 32; r++) expect(Math.abs(back[r * n + col]! - w[r * n + col]!)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    // asymmetric: zero points differ between blocks (not the symmetric default 8 everywhere)
    expect(new Set(Array.from(q.zeroPoints, (b) => b & 15)).size).toBeGreaterThan(1);
  });

  for (const dtype of ['q4', 'q4f16'] as const)
    it(`run in onnxruntime as x @ dequantized(W) (${dtype}; packing of codes, scales and zero points)`, async () => {
      const [k, n, rows] = [80, 7, 3]; // K not a multiple of the block size: a padded last block
      const g = new GraphBuilder();
      const half = dtype === 'q4f16';
      const x = g.input('x', half ? FLOAT16 : FLOAT, [rows, k]);
      g.output(linearLayer(g, x, 'w', k, n, createRandom(4), 0.3, dtype), 'y', half ? FLOAT16 : FLOAT, [rows, n]);
      const session = await ort.InferenceSession.create(g.build(new Map([['', 17], ['com.microsoft', 1]])));
      const input = normal(createRandom(8), rows * k, 1);
      const feed = half ? new ort.Tensor('float16', float32ToFloat16(input), [rows, k]) : new ort.Tensor('float32', input, [rows, k]);
      const out = (await session.run({ x: feed }))['y']!;
      const got = half ? float16ToFloat32(out.data as Uint16Array) : (out.data as Float32Array);
      // the same draws, quantized here
      const weights = new NormalStream(createRandom(4), 0.3).fill(new Float32Array(k * n));
      const quantizer = new Q4Quantizer(k, n, half);
      for (let b = 0; b < k; b += 32) quantizer.addBlock(weights.subarray(b * n, Math.min(k, b + 32) * n));
      const x64 = half ? float16ToFloat32(float32ToFloat16(input)) : input;
      const expected = matmul(x64, rows, dequantizeQ4(quantizer.finish()), k, n);
      const tolerance = half ? 2e-2 : 1e-4;
      got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(tolerance * Math.max(1, Math.abs(expected[i]!))));
      await session.release();
    });
});

describe('decoders with external data', () => {
  const spec: DecoderSpec = { hidden: 64, layers: 1, heads: 4, kvHeads: 2, intermediate: 128, vocab: 200, ropeTheta: 10000, attention: 'group-query-attention', seed: 5 };
  for (const dtype of ['fp32', 'fp16', 'q4'] as WeightDtype[])
    it(`stream their weights into .onnx_data and compute what the inline graph computes (${dtype})`, async () => {
      const inline = join(root, `inline-${dtype}.onnx`);
      const external = join(root, `decoder_model_merged_${dtype}.onnx`);
      await writeDecoder(inline, { ...spec, dtype }, { externalData: false });
      const files = await writeDecoder(external, { ...spec, dtype }, { externalData: true });
      expect(files).toEqual([external, `${external}_data`]);
      const model = parseOnnxModel(new Uint8Array(await readFile(external)));
      expect(model.externalDataFiles).toEqual(new Set([`decoder_model_merged_${dtype}.onnx_data`]));
      expect((await stat(external)).size).toBeLessThan(20_000);
      expect((await stat(`${external}_data`)).size).toBeGreaterThan((await stat(inline)).size / 2);
      const run = async (path: string) => {
        const session = await ort.InferenceSession.create(path);
        const half = dtype === 'fp16';
        const embeds = normal(createRandom(2), 3 * 64, 1);
        const feeds: Record<string, ort.Tensor> = {
          inputs_embeds: half ? new ort.Tensor('float16', float32ToFloat16(embeds), [1, 3, 64]) : new ort.Tensor('float32', embeds, [1, 3, 64]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(3).fill(1n), [1, 3]),
          position_ids: new ort.Tensor('int64', BigInt64Array.from([0n, 1n, 2n]), [1, 3]),
        };
        for (const kind of ['key', 'value']) feeds[`past_key_values.0.${kind}`] = half ? new ort.Tensor('float16', new Uint16Array(0), [1, 2, 0, 16]) : new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
        const logits = (await session.run(feeds))['logits']!;
        await session.release();
        return Array.from(logits.data as Float32Array | Uint16Array);
      };
      expect(await run(external)).toEqual(await run(inline));
    });

  it('generate large weights in pieces with the values of one randomWeight() call', () => {
    const dims = [1100, 1000]; // over a million values: streamed a block at a time
    const a = new GraphBuilder();
    a.randomWeight('w', dims, createRandom(6), 0.2);
    const b = new GraphBuilder();
    normalWeight(b, 'w', dims, createRandom(6), 0.2);
    expect(Buffer.from(b.build()).equals(Buffer.from(a.build()))).toBe(true);
  });
});
