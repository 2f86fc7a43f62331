import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom, sequentialPositions } from '@icot/core';
import { float32ToFloat16 } from '@icot/onnx-proto';
import { buildDecoder, normal, type DecoderSpec } from '@icot/testing';
import { describeDecoder, prepareDecoder } from './decoder.js';
import { OnnxDecodingSession } from './decoding-session.js';
import type { OrtSession } from './tensors.js';

/** A session that keeps every output tensor onnxruntime returned, per run. */
function keepingOutputs(session: ort.InferenceSession): { session: OrtSession; runs: Record<string, ort.Tensor>[] } {
  const runs: Record<string, ort.Tensor>[] = [];
  const run = session.run.bind(session);
  const wrapped = Object.assign(Object.create(session) as ort.InferenceSession, {
    run: async (feeds: ort.InferenceSession.FeedsType) => {
      const out = await run(feeds);
      runs.push(out);
      return out;
    },
  });
  return { session: wrapped as unknown as OrtSession, runs };
}

describe('OnnxDecodingSession tensor disposal', () => {
  for (const dtype of ['fp32', 'fp16'] as const)
    it(`disposes the cache a step supersedes and the outputs it does not keep, never the live cache (${dtype})`, async () => {
      const spec: DecoderSpec = { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 50, ropeTheta: 10000, mropeSection: [2, 1, 1], attention: 'group-query-attention', seed: 2, dtype };
      const prepared = prepareDecoder(buildDecoder(spec), 'decoder.onnx');
      const { session, runs } = keepingOutputs(await ort.InferenceSession.create(prepared.bytes));
      const decoder = describeDecoder(prepared, session, { numKeyValueHeads: 2, headDim: 8 });
      const embeds = (n: number) => {
        const v = normal(createRandom(n), n * 32, 1);
        return dtype === 'fp16' ? new ort.Tensor('float16', float32ToFloat16(v), [1, n, 32]) : new ort.Tensor('float32', v, [1, n, 32]);
      };
      // chunks of 3: a 7-token prefill is three runs
      const decoding = new OnnxDecodingSession(decoder, async (_, n) => embeds(n), 'test', 3);
      const live = (out: Record<string, ort.Tensor>) => Object.keys(out).filter((k) => out[k]!.location !== 'none');
      const first = await decoding.step({ segments: [{ type: 'tokens', ids: new Array<number>(7).fill(0) }], positions: sequentialPositions(3, 0, 7), attention: true });
      expect(runs).toHaveLength(3);
      // the earlier chunks' outputs are all gone; the last keeps its presents (the cache)
      expect(live(runs[0]!)).toEqual([]);
      expect(live(runs[1]!)).toEqual([]);
      expect(live(runs[2]!).sort()).toEqual(['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
      const firstLogits = Float32Array.from(first.logits);
      expect(first.logits.length).toBe(50);
      expect(first.attention!.length).toBe(7);
      const second = await decoding.step({ segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 7, 1) });
      expect(live(runs[2]!)).toEqual([]);
      expect(live(runs[3]!)).toHaveLength(4);
      // values already returned stay readable after their tensors are disposed
      expect(Array.from(first.logits)).toEqual(Array.from(firstLogits));
      expect(second.logits.every(Number.isFinite)).toBe(true);
      // a KV-cache append replaces (and disposes) the cache tensors
      decoding.kvCache.appendCopies([1, 2]);
      expect(live(runs[3]!)).toEqual([]);
      expect(decoding.length).toBe(10);
      await decoding.step({ segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 10, 1) });
      expect(live(runs[4]!)).toHaveLength(4);
      decoding.dispose();
      expect(live(runs[4]!)).toEqual([]);
      await session.release();
    });

  it('keeps cache tensors a fork still uses: neither disposal nor steps of one session free the other\'s cache', async () => {
    const spec: DecoderSpec = { hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, vocab: 50, ropeTheta: 10000, mropeSection: [2, 1, 1], attention: 'softmax', seed: 3, dtype: 'fp32' };
    const prepared = prepareDecoder(buildDecoder(spec), 'decoder.onnx');
    const { session, runs } = keepingOutputs(await ort.InferenceSession.create(prepared.bytes));
    const decoder = describeDecoder(prepared, session, { numKeyValueHeads: 2, headDim: 8 });
    const embeds = (n: number) => new ort.Tensor('float32', normal(createRandom(n), n * 32, 1), [1, n, 32]);
    const live = (out: Record<string, ort.Tensor>) => Object.keys(out).filter((k) => out[k]!.location !== 'none' && k.startsWith('present.'));
    const main = new OnnxDecodingSession(decoder, async (_, n) => embeds(n), 'test');
    await main.step({ segments: [{ type: 'tokens', ids: new Array<number>(5).fill(0) }], positions: sequentialPositions(3, 0, 5) });
    const fork = main.fork();
    // the main session moves on: the prefill's cache is superseded there, but the fork holds it
    await main.step({ segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 5, 1) });
    expect(live(runs[0]!)).toHaveLength(4);
    const out = await fork.step({ segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 5, 1), layerAttention: [1] });
    expect(out.layerAttention!.length).toBe(6);
    expect(live(runs[0]!)).toEqual([]); // now nobody holds the prefill's cache
    // both continuations fed the same input onto the same cache
    expect(fork.length).toBe(main.length);
    main.dispose();
    expect(live(runs[1]!)).toEqual([]);
    expect(live(runs[2]!)).toHaveLength(4); // the fork's cache is its own
    const side = await fork.sideRuns([
      { segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 6, 1) },
      { segments: [{ type: 'tokens', ids: [0] }], positions: sequentialPositions(3, 6, 1), attention: true },
    ]);
    expect(fork.length).toBe(6);
    expect(Array.from(side[0]!.logits)).toEqual(Array.from(side[1]!.logits));
    expect(side[1]!.attention!.length).toBe(7);
    fork.dispose();
    expect(live(runs[2]!)).toEqual([]);
    await session.release();
  });
});
