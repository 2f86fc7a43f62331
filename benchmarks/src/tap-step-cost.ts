import ort from 'onnxruntime-node';
import { findAttentionSites, tapAttention } from '@icot/backend-onnx';
import { parseOnnxModel } from '@icot/onnx-proto';
import { buildDecoder, type AttentionKind, type DecoderSpec } from '@icot/testing';
import { decoderFeeds } from './decoder-feeds.js';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** The mid-size model of the step-cost benchmark (float32). */
export function midSizeSpec(attention: AttentionKind): DecoderSpec {
  return { hidden: 1024, layers: 8, heads: 16, kvHeads: attention === 'multi-head-attention' ? 16 : 8, intermediate: 2816, vocab: 32000, ropeTheta: 10000, mropeSection: [8, 12, 12], attention, seed: 9, init: 0.02 };
}

/**
 * Cost of one decode step through a tapped vs an untapped decoder, at the same cache length, in
 * alternating runs. Also times the tapped graph when its tap outputs are not fetched.
 */
export async function tapStepCost(attention: AttentionKind, context = 512, steps = 40): Promise<SectionResult> {
  const spec = midSizeSpec(attention);
  const t0 = performance.now();
  const bytes = buildDecoder(spec);
  const model = parseOnnxModel(bytes);
  const sites = findAttentionSites(model, spec.layers);
  if (!sites.supported) throw new Error(sites.reason);
  const tapped = tapAttention(model, sites);
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
  const plain = await ort.InferenceSession.create(bytes, options);
  const withTaps = await ort.InferenceSession.create(tapped.bytes, options);
  const buildMs = performance.now() - t0;
  const untappedOutputs = plain.outputNames;
  // one shared cache of `context` tokens
  const prefill = await plain.run(decoderFeeds(spec, context));
  const stepFeeds = decoderFeeds(spec, 1, prefill as Record<string, ort.Tensor>, context, 2);
  const time = async (session: ort.InferenceSession, fetch?: readonly string[]): Promise<number> => {
    const start = performance.now();
    if (fetch) await session.run(stepFeeds, fetch as string[]);
    else await session.run(stepFeeds);
    return performance.now() - start;
  };
  for (let i = 0; i < 3; i++) {
    await time(plain);
    await time(withTaps);
  }
  const variants: [() => Promise<number>, number[]][] = [
    [() => time(plain), []],
    [() => time(withTaps), []],
    [() => time(withTaps, untappedOutputs), []],
    [() => time(plain, untappedOutputs), []],
  ];
  // rotate the order every round so no variant always runs first or after the same one
  for (let i = 0; i < steps; i++)
    for (let j = 0; j < variants.length; j++) {
      const [run, samples] = variants[(i + j) % variants.length]!;
      samples.push(await run());
    }
  const [pa, pb, pc, pd] = variants.map(([, samples]) => median(samples)) as [number, number, number, number];
  await plain.release();
  await withTaps.release();
  const text = [
    `decode step, ${attention} decoder (hidden ${spec.hidden}, ${spec.layers} layers, ${spec.heads} heads, vocab ${spec.vocab}, fp32), cache ${context}, 1 thread, median of ${steps} rotating rounds (model built in ${(buildMs / 1000).toFixed(1)} s)`,
    table([
      ['decoder', 'ms/step', 'vs untapped'],
      ['untapped', pa.toFixed(2), '1.000'],
      ['tapped, taps fetched', pb.toFixed(2), (pb / pa).toFixed(3)],
      ['tapped, taps not fetched', pc.toFixed(2), (pc / pa).toFixed(3)],
      ['untapped, outputs named', pd.toFixed(2), (pd / pa).toFixed(3)],
    ]),
  ].join('\n');
  return {
    text,
    rows: [
      { name: `${attention}-untapped-ms-per-step`, value: pa, unit: 'ms' },
      { name: `${attention}-tapped-vs-untapped`, value: pb / pa, unit: 'ratio' },
      { name: `${attention}-tapped-not-fetched-vs-untapped`, value: pc / pa, unit: 'ratio' },
    ],
  };
}
