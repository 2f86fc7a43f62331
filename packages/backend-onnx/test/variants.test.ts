import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom, createSignalTrigger, generateICoT, type VisionLanguageModelV1 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { parseOnnxModel } from '@icot/onnx-proto';
import { describeModelConformance, normal, writeTinyLlava, writeTinyQwen2Vl, type TinyModelInfo, type TinyModelSettings } from '@icot/testing';
import { findAttentionSites, loadOnnxModel, tapAttention } from '../src/index.js';

interface Variant {
  readonly name: string;
  readonly shape: string;
  readonly write: (dir: string, settings: TinyModelSettings) => Promise<TinyModelInfo>;
  readonly settings: TinyModelSettings;
}

// (a)-(d) of the attention-tap work: every decoder attention shape the tap reads.
const VARIANTS: readonly Variant[] = [
  { name: '(a) Qwen2-VL-style, plain Softmax attention', shape: 'softmax', write: writeTinyQwen2Vl, settings: { attention: 'softmax', layers: 3, heads: 4, kvHeads: 2, seed: 11 } },
  { name: '(b) Qwen2-VL-style, GroupQueryAttention', shape: 'group-query-attention', write: writeTinyQwen2Vl, settings: { attention: 'group-query-attention', layers: 3, heads: 4, kvHeads: 2, seed: 12 } },
  { name: '(c) Qwen2-VL-style, MultiHeadAttention', shape: 'multi-head-attention', write: writeTinyQwen2Vl, settings: { attention: 'multi-head-attention', layers: 2, heads: 4, kvHeads: 4, seed: 13 } },
  { name: '(d) LLaVA-style, 1-D positions, GroupQueryAttention', shape: 'group-query-attention', write: writeTinyLlava, settings: { attention: 'group-query-attention', layers: 2, heads: 8, kvHeads: 2, hidden: 128, seed: 14 } },
];

const root = await mkdtemp(join(tmpdir(), 'icot-variants-'));
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

for (const variant of VARIANTS) {
  describe(variant.name, () => {
    let info: TinyModelInfo;
    beforeAll(async () => {
      const dir = join(root, variant.name.slice(1, 2));
      info = await variant.write(dir, { ...variant.settings, exposeQueries: [0, variant.settings.layers! - 1] });
    });

    it('the tap finds one attention site per layer of the right shape', async () => {
      const model = parseOnnxModel(new Uint8Array(await readFile(join(info.dir, 'onnx', 'decoder_model_merged.onnx'))));
      const sites = findAttentionSites(model, info.decoder.layers);
      expect(sites.supported && sites.shape).toBe(variant.shape);
    });

    it('the tapped row equals softmax(QK^T/sqrt(d)) computed from the layer\'s Q and K, at prefill and at a decode step (1e-5)', async () => {
      const { hidden, heads, kvHeads, layers } = info.decoder;
      const headDim = hidden / heads;
      const model = parseOnnxModel(new Uint8Array(await readFile(join(info.dir, 'onnx', 'decoder_model_merged.onnx'))));
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
          inputs_embeds: new ort.Tensor('float32', normal(random, seq * hidden, 1), [1, seq, hidden]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          position_ids: new ort.Tensor('int64', positions, mrope ? [3, 1, seq] : [1, seq]),
        };
        const out = await session.run(feeds);
        for (const layer of [0, layers - 1]) {
          const expected = referenceRow(out[`debug.query.${layer}`]!.data as Float32Array, seq, out[`present.${layer}.key`]!.data as Float32Array, total, heads, kvHeads, headDim);
          const got = out[tapped.outputs[layer]!]!.data as Float32Array;
          expect(got.length).toBe(total);
          let maxDiff = 0;
          for (let j = 0; j < total; j++) maxDiff = Math.max(maxDiff, Math.abs(got[j]! - expected[j]!));
          expect(maxDiff).toBeLessThan(1e-5);
        }
        const presents: Record<string, ort.Tensor> = {};
        for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) presents[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
        return presents;
      };
      const empty: Record<string, ort.Tensor> = {};
      for (let l = 0; l < layers; l++) for (const kind of ['key', 'value']) empty[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
      const afterPrefill = await run(37, 0, empty);
      const afterStep = await run(1, 37, afterPrefill);
      await run(5, 38, afterStep);
      await session.release();
    });

    it('runs the whole ICoT loop with ADS and input insertion, deterministically under greedy', async () => {
      const model = await loadOnnxModel(info.dir);
      expect(model.capabilities.attention).toBe(true);
      const image = await model.encodeImage(createTestImage(150, 120));
      const run = () =>
        generateICoT({
          model,
          prompt: { text: info.promptText, images: [image] },
          selector: createAdsSelector(),
          decoder: createInputInsertionDecoder(),
          trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 5 }),
          k: 4,
          maxInsertions: 3,
          maxNewTokens: 24,
        });
      const a = await run();
      const b = await run();
      expect(a.tokens).toEqual(b.tokens);
      expect(a.insertions.length).toBeGreaterThan(0);
      expect(a.insertions.map((i) => i.selected)).toEqual(b.insertions.map((i) => i.selected));
      expect(a.insertions.map((i) => i.scores)).toEqual(b.insertions.map((i) => i.scores));
      await model.dispose();
    });
  });

  describeModelConformance(
    `onnx / ${variant.name}`,
    async () => {
      const dir = join(root, `conformance-${variant.name.slice(1, 2)}`);
      const info = await variant.write(dir, variant.settings);
      return {
        model: (await loadOnnxModel(dir)) as VisionLanguageModelV1,
        image: createTestImage(150, 120),
        promptText: info.promptText,
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
      };
    },
    { attention: true },
  );
}

describe('chunked prefill of fused-attention decoders', () => {
  it('gives the logits and attention of a one-piece prefill (1e-5)', async () => {
    const dir = join(root, 'chunked');
    const info = await writeTinyQwen2Vl(dir, { attention: 'group-query-attention', layers: 2, seed: 21 });
    const whole = await loadOnnxModel(dir, { prefillChunkSize: 0 });
    const chunked = await loadOnnxModel(dir, { prefillChunkSize: 7 });
    const run = async (model: VisionLanguageModelV1) => {
      const image = await model.encodeImage(createTestImage(150, 120));
      const prompt = await model.preparePrompt({ text: info.promptText, images: [image] });
      const session = model.createSession();
      const out = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true });
      const next = await session.step({ segments: [{ type: 'tokens', ids: [5] }], positions: model.family.textPositions(prompt.nextPosition, 1), attention: true });
      session.dispose();
      return [out, next].map((o) => [Float32Array.from(o.logits), Float32Array.from(o.attention!)] as const);
    };
    const a = await run(whole);
    const b = await run(chunked);
    for (let s = 0; s < 2; s++)
      for (let t = 0; t < 2; t++) {
        expect(b[s]![t]!.length).toBe(a[s]![t]!.length);
        a[s]![t]!.forEach((v, i) => expect(Math.abs(v - b[s]![t]![i]!)).toBeLessThan(1e-5));
      }
    await whole.dispose();
    await chunked.dispose();
  });
});
