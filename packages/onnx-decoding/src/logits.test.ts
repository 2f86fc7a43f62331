import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { createRandom, sequentialPositions } from '@icot/core';
import { appendToGraph, float16ToFloat32, float32ToFloat16, floatTensor, parseOnnxModel, replaceNodes } from '@icot/onnx-proto';
import { buildDecoder, normal, type AttentionKind, type DecoderSpec, type WeightDtype } from '@icot/testing';
import { describeDecoder, prepareDecoder } from './decoder.js';
import { OnnxDecodingSession } from './decoding-session.js';
import { LOGITS_PREFIX } from './logits.js';
import type { OrtSession } from './tensors.js';

const HIDDEN = 64;

function spec(attention: AttentionKind, dtype: WeightDtype, extra: Partial<DecoderSpec> = {}): DecoderSpec {
  return { hidden: HIDDEN, layers: 2, heads: 4, kvHeads: attention === 'multi-head-attention' ? 4 : 2, intermediate: 128, vocab: 301, ropeTheta: 10000, mropeSection: [4, 2, 2], attention, seed: 3, dtype, ...extra };
}

const half = (dtype: WeightDtype): boolean => dtype === 'fp16' || dtype === 'q4f16';

/** Feeds for `seq` new positions after `past` cached ones. */
function feeds(s: DecoderSpec, seq: number, past: Record<string, ort.Tensor> | undefined, pastLength: number): Record<string, ort.Tensor> {
  const embeds = normal(createRandom(pastLength + 1), seq * s.hidden, 1);
  const f: Record<string, ort.Tensor> = {
    inputs_embeds: half(s.dtype!) ? new ort.Tensor('float16', float32ToFloat16(embeds), [1, seq, s.hidden]) : new ort.Tensor('float32', embeds, [1, seq, s.hidden]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLength + seq).fill(1n), [1, pastLength + seq]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: 3 * seq }, (_, i) => BigInt(pastLength + (i % seq))), [3, 1, seq]),
  };
  const headDim = s.hidden / s.heads;
  for (let l = 0; l < s.layers; l++)
    for (const kind of ['key', 'value'])
      f[`past_key_values.${l}.${kind}`] =
        past?.[`present.${l}.${kind}`] ?? (half(s.dtype!) ? new ort.Tensor('float16', new Uint16Array(0), [1, s.kvHeads, 0, headDim]) : new ort.Tensor('float32', new Float32Array(0), [1, s.kvHeads, 0, headDim]));
  return f;
}

const floats = (t: ort.Tensor): Float32Array => (t.type === 'float16' ? float16ToFloat32(t.data as Uint16Array) : (t.data as Float32Array));

describe('logits of the last position only', () => {
  for (const attention of ['softmax', 'group-query-attention', 'multi-head-attention'] as const)
    for (const dtype of ['fp32', 'fp16', 'q4', 'q4f16'] as const)
      for (const tap of [true, false])
        it(`${attention}, ${dtype}, ${tap ? 'tapped' : 'untapped'}: onnxruntime returns [1, 1, V], the last row of the graph's full logits`, async () => {
          const s = spec(attention, dtype);
          const bytes = buildDecoder(s);
          const prepared = prepareDecoder(bytes, 'decoder.onnx', { tapAttention: tap });
          expect(prepared.logits).toMatchObject({ rows: 'last', how: 'sliced-before-projection' });
          expect(prepared.edited).toBe(true);
          // the same graph (taps included) with every row of logits
          const original = await ort.InferenceSession.create(prepareDecoder(bytes, 'decoder.onnx', { tapAttention: tap, logits: 'all' }).bytes);
          const edited = await ort.InferenceSession.create(prepared.bytes);
          let pastA: Record<string, ort.Tensor> | undefined;
          let pastB: Record<string, ort.Tensor> | undefined;
          let length = 0;
          for (const seq of [9, 1, 3]) {
            const a = await original.run(feeds(s, seq, pastA, length));
            const b = await edited.run(feeds(s, seq, pastB, length));
            expect(a['logits']!.dims).toEqual([1, seq, s.vocab]);
            expect(b['logits']!.dims).toEqual([1, 1, s.vocab]);
            expect(b['logits']!.type).toBe(half(dtype) ? 'float16' : 'float32');
            const full = floats(a['logits']!).subarray((seq - 1) * s.vocab);
            const last = floats(b['logits']!);
            // one row through the projection instead of seq rows: the same products, summed in the same order
            const tolerance = half(dtype) ? 1e-2 : 1e-5;
            full.forEach((v, i) => expect(Math.abs(v - last[i]!)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(v))));
            expect(Array.from(floats(b['present.1.key']!))).toEqual(Array.from(floats(a['present.1.key']!)));
            pastA = a;
            pastB = b;
            length += seq;
          }
          await original.release();
          await edited.release();
        });

  it("uses the export's own num_logits_to_keep input instead of editing the graph", async () => {
    const s = spec('group-query-attention', 'fp32', { logitsToKeepInput: true });
    const bytes = buildDecoder(s);
    const prepared = prepareDecoder(bytes, 'decoder.onnx', { tapAttention: false });
    expect(prepared.logits).toEqual({ rows: 'last', how: 'logits-to-keep-input', input: 'num_logits_to_keep', inputRank: 0 });
    expect(prepared.edited).toBe(false);
    const session = recording(await ort.InferenceSession.create(prepared.bytes));
    const decoding = new OnnxDecodingSession(describeDecoder(prepared, session, { numKeyValueHeads: 2, headDim: 16 }), async (_, n) => feeds(s, n, undefined, 0)['inputs_embeds']!, 'test');
    const out = await decoding.step({ segments: [{ type: 'tokens', ids: new Array<number>(12).fill(0) }], positions: sequentialPositions(3, 0, 12) });
    expect(session.outputs.at(-1)!['logits']).toEqual([1, 1, s.vocab]);
    // the same as all rows (num_logits_to_keep = 0), last one
    const all = await ort.InferenceSession.create(bytes);
    const reference = await all.run({ ...feeds(s, 12, undefined, 0), num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.from([0n]), []) });
    expect(reference['logits']!.dims).toEqual([1, 12, s.vocab]);
    expect(Array.from(out.logits)).toEqual(Array.from((reference['logits']!.data as Float32Array).subarray(11 * s.vocab)));
    decoding.dispose();
  });

  it('keeps every row, and says why, when the projection is not where it expects it', async () => {
    const s = spec('softmax', 'fp32');
    const bytes = buildDecoder(s);
    // logits = projection x 0.5 (a final scaling, as soft-capping exports have): not a plain projection
    const model = parseOnnxModel(bytes);
    const scaled = appendToGraph(parseOnnxModel(replaceNodes(model, (n) => (n.outputs[0] === 'logits' ? [{ name: 'scale', opType: 'Mul', inputs: [n.inputs[0]!, 'half'], outputs: ['logits'] }] : undefined))), {
      initializers: [floatTensor('half', [0.5], [])],
    });
    const prepared = prepareDecoder(scaled, 'decoder.onnx', { tapAttention: false });
    expect(prepared.logits.rows).toBe('all');
    if (prepared.logits.rows === 'all') expect(prepared.logits.reason).toMatch(/decoder\.onnx keeps logits for every position: logits comes from a Mul node \(scale\)/);
    expect(prepared.edited).toBe(false);
    // the session still returns the last position's logits, out of all of them
    const session = recording(await ort.InferenceSession.create(prepared.bytes));
    const decoding = new OnnxDecodingSession(describeDecoder(prepared, session, { numKeyValueHeads: 2, headDim: 16 }), async (_, n) => feeds(s, n, undefined, 0)['inputs_embeds']!, 'test');
    const out = await decoding.step({ segments: [{ type: 'tokens', ids: new Array<number>(7).fill(0) }], positions: sequentialPositions(3, 0, 7) });
    expect(session.outputs.at(-1)!['logits']).toEqual([1, 7, s.vocab]);
    const reference = (await (await ort.InferenceSession.create(bytes)).run(feeds(s, 7, undefined, 0)))['logits']!.data as Float32Array;
    out.logits.forEach((v, i) => expect(v).toBeCloseTo(0.5 * reference[6 * s.vocab + i]!, 6));
  });

  it("keeps every row when asked to (logits: 'all')", () => {
    const bytes = buildDecoder(spec('softmax', 'fp32'));
    const prepared = prepareDecoder(bytes, 'decoder.onnx', { tapAttention: false, logits: 'all' });
    expect(prepared).toMatchObject({ edited: false, logits: { rows: 'all' } });
    expect(prepared.bytes).toBe(bytes);
  });

  it('edits only the ModelProto: one Slice before the projection, logits declared [batch, 1, vocab]', () => {
    const bytes = buildDecoder(spec('softmax', 'q4'));
    const prepared = prepareDecoder(bytes, 'decoder.onnx', { tapAttention: false });
    const model = parseOnnxModel(prepared.bytes);
    const before = parseOnnxModel(bytes);
    expect(model.nodes.length).toBe(before.nodes.length + 1);
    const slice = model.nodes.find((n) => n.name === `${LOGITS_PREFIX}slice`)!;
    const projection = model.nodes[slice.index + 1]!;
    expect(projection.opType).toBe('MatMulNBits');
    expect(projection.inputs[0]).toBe(slice.outputs[0]);
    expect(slice.inputs[0]).toBe(before.nodes[projection.index - 1]!.inputs[0]);
    expect(model.outputs.find((o) => o.name === 'logits')!.dims).toEqual(['batch_size', 1, 301]);
    expect(model.outputs.map((o) => o.name)).toEqual(before.outputs.map((o) => o.name));
  });
});

/** An onnxruntime session that records the dims of every output it returns. */
function recording(session: ort.InferenceSession): OrtSession & { outputs: Record<string, readonly number[]>[] } {
  const outputs: Record<string, readonly number[]>[] = [];
  const wrapped = session as unknown as OrtSession & { outputs: typeof outputs };
  const run = session.run.bind(session);
  wrapped.outputs = outputs;
  (wrapped as unknown as { run: typeof run }).run = (async (f: ort.InferenceSession.FeedsType) => {
    const out = await run(f);
    outputs.push(Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dims])));
    return out;
  }) as typeof run;
  return wrapped;
}

