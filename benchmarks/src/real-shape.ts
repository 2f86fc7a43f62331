/**
 * ICoT at the text shapes of Qwen2-VL-2B (hidden 1536, 28 layers, 12 query / 2 KV heads, intermediate
 * 8960, vocabulary 151,936, M-RoPE), in q4 (MatMulNBits) and optionally fp16, with a prompt of ~300
 * image tokens and ~50 text tokens. Each weight variant is measured in a fresh child process
 * (`node real-shape.js <dtype> <dir>`), so its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { createSignalTrigger, generateICoT, type PromptInput, type VisionLanguageModelV2 } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { loadOnnxModel, type OnnxDtype } from '@icot/backend-onnx';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { FLOAT, GraphBuilder, writeTinyQwen2Vl, type WeightDtype } from '@icot/testing';
import { icotTokenGaps, transformersGenerate } from './backends.js';
import { peakKb } from './memory.js';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** Qwen2-VL-2B-Instruct's text model (config.json of Qwen/Qwen2-VL-2B-Instruct). */
export const QWEN2_VL_2B_TEXT = { hidden: 1536, layers: 28, heads: 12, kvHeads: 2, intermediate: 8960, vocab: 151_936, ropeTheta: 1_000_000 } as const;

/** 476 x 476 pixels = 34 x 34 patches of 14 px = 17 x 17 = 289 merged image tokens. */
const IMAGE_SIDE = 476;
// The generated tokenizer is close to byte level (the chat template alone is ~39 tokens): this short
// question makes ~50 text tokens, what a one-line question gives with Qwen2-VL's real tokenizer.
const QUESTION = 'What is here?';
const NEW_TOKENS = 32;

interface Measurement {
  readonly dtype: WeightDtype;
  readonly writeS: number;
  readonly decoderBytes: number;
  readonly promptTokens: number;
  readonly imageTokens: number;
  readonly prefillMs: number;
  readonly decodeMsPerToken: number;
  readonly plainTotalMs: number;
  readonly icotTotalMs: number;
  readonly insertions: number;
  /** Undefined where transformers.js's own pipeline cannot run the folder (`transformersSkipped` says why). */
  readonly transformersDecodeMsPerToken: number | undefined;
  readonly transformersSkipped?: string;
  /** icot on a decoder loaded without attention taps (plain decoding only). */
  readonly untappedDecodeMsPerToken: number;
  readonly peakRssMb: number;
}

/** Read bandwidth of this machine as a float32 matrix-vector product through onnxruntime (2 threads): bytes of the matrix / time. */
async function gemvBandwidthGBs(): Promise<number> {
  const k = 8192;
  const n = 8192; // 256 MiB of float32 weights
  const g = new GraphBuilder();
  const x = g.input('x', FLOAT, [1, k]);
  const w = g.input('w', FLOAT, [k, n]);
  g.output(g.op('MatMul', [x, w]), 'y', FLOAT, [1, n]);
  const session = await ort.InferenceSession.create(g.build(), { intraOpNumThreads: 2 });
  const weights = new Float32Array(k * n);
  for (let i = 0; i < weights.length; i += 97) weights[i] = (i % 13) / 13;
  const feeds = { x: new ort.Tensor('float32', new Float32Array(k).fill(0.5), [1, k]), w: new ort.Tensor('float32', weights, [k, n]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  return (weights.byteLength / (median(times) / 1000)) / 1e9;
}

async function folderBytes(dir: string, match: RegExp): Promise<number> {
  let total = 0;
  for (const file of await readdir(join(dir, 'onnx'))) if (match.test(file)) total += (await stat(join(dir, 'onnx', file))).size;
  return total;
}

async function measure(dtype: WeightDtype, dir: string): Promise<Measurement> {
  const t0 = performance.now();
  await writeTinyQwen2Vl(dir, { ...QWEN2_VL_2B_TEXT, attention: 'group-query-attention', dtype, seed: 21, init: 0.02, maxPixels: IMAGE_SIDE * IMAGE_SIDE });
  const writeS = (performance.now() - t0) / 1000;
  const decoderBytes = await folderBytes(dir, /^decoder_model_merged/);
  const rgb = createTestImage(IMAGE_SIDE, IMAGE_SIDE);
  const model: VisionLanguageModelV2 = await loadOnnxModel(dir, { dtype: dtype as OnnxDtype });
  const image = await model.encodeImage(rgb);
  const prompt: PromptInput = { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: QUESTION }] }], images: [image] };
  const prepared = await model.preparePrompt(prompt);
  // Random weights never write a line break: fire on every 8th token instead, at most 3 insertions of k = 16.
  const answer = (maxInsertions: number) =>
    generateICoT({
      model,
      prompt: prepared,
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 8 }),
      k: 16,
      maxInsertions,
      maxNewTokens: NEW_TOKENS,
    });
  await answer(0); // warm-up
  const plain: number[] = [];
  const icot: number[] = [];
  const prefill: number[] = [];
  let insertions = 0;
  for (let r = 0; r < 2; r++) {
    const p = await answer(0);
    const i = await answer(3);
    plain.push(p.timings.totalMs);
    icot.push(i.timings.totalMs);
    prefill.push(p.timings.prefillMs, i.timings.prefillMs);
    insertions = i.insertions.length;
  }
  const icotDecode = median([await icotTokenGaps(model, rgb, QUESTION, NEW_TOKENS), await icotTokenGaps(model, rgb, QUESTION, NEW_TOKENS)]);
  await model.dispose();
  const untapped = await loadOnnxModel(dir, { dtype: dtype as OnnxDtype, tapAttention: false });
  const untappedDecode = median([await icotTokenGaps(untapped, rgb, QUESTION, NEW_TOKENS), await icotTokenGaps(untapped, rgb, QUESTION, NEW_TOKENS)]);
  await untapped.dispose();
  const hf = await transformersGenerate(dir, dtype);
  let hfDecode: number | undefined;
  let transformersSkipped: string | undefined;
  try {
    await hf.gaps(rgb, QUESTION, 4); // warm-up
    hfDecode = median([await hf.gaps(rgb, QUESTION, NEW_TOKENS), await hf.gaps(rgb, QUESTION, NEW_TOKENS)]);
  } catch (error) {
    // transformers.js 4.3.1 feeds float32 pixel_values even to a vision encoder with float16 inputs
    if (!/expected: \(tensor\(float16\)\)/.test((error as Error).message)) throw error;
    transformersSkipped = 'transformers.js feeds float32 pixel_values to this float16 vision encoder and fails';
  }
  await hf.dispose();
  return {
    dtype,
    writeS,
    decoderBytes,
    promptTokens: prepared.length,
    imageTokens: image.patchCount,
    prefillMs: median(prefill),
    decodeMsPerToken: icotDecode,
    plainTotalMs: median(plain),
    icotTotalMs: median(icot),
    insertions,
    transformersDecodeMsPerToken: hfDecode,
    ...(transformersSkipped ? { transformersSkipped } : {}),
    untappedDecodeMsPerToken: untappedDecode,
    peakRssMb: peakKb() / 1024,
  };
}

/**
 * Run the real-shape measurements, one child process per weight variant
 * (`ICOT_BENCH_REAL_DTYPES`, default `q4`; add `fp16` where ~4 GB of disk and memory are free).
 */
export async function realShape(): Promise<SectionResult> {
  const dtypes = (process.env['ICOT_BENCH_REAL_DTYPES'] ?? 'q4').split(',').map((d) => d.trim()) as WeightDtype[];
  const bandwidth = await gemvBandwidthGBs();
  const self = fileURLToPath(import.meta.url);
  const results: Measurement[] = [];
  for (const dtype of dtypes) {
    const dir = await mkdtemp(join(tmpdir(), `icot-real-shape-${dtype}-`));
    try {
      results.push(JSON.parse(execFileSync(process.execPath, [self, dtype, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })) as Measurement);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const s = QWEN2_VL_2B_TEXT;
  const rows: string[][] = [['', ...results.map((r) => r.dtype)]];
  const line = (label: string, f: (r: Measurement) => string) => rows.push([label, ...results.map(f)]);
  line('decoder weights, MB', (r) => (r.decoderBytes / 1e6).toFixed(0));
  line('prompt tokens (image tokens)', (r) => `${r.promptTokens} (${r.imageTokens})`);
  line('prefill ms', (r) => r.prefillMs.toFixed(0));
  line('decode ms/token (icot)', (r) => r.decodeMsPerToken.toFixed(1));
  line('decode ms/token (icot, decoder without taps)', (r) => r.untappedDecodeMsPerToken.toFixed(1));
  line('decode ms/token (transformers.js generate())', (r) => r.transformersDecodeMsPerToken?.toFixed(1) ?? 'n/a*');
  line('transformers.js / icot decode', (r) => (r.transformersDecodeMsPerToken === undefined ? 'n/a*' : (r.transformersDecodeMsPerToken / r.decodeMsPerToken).toFixed(3)));
  line(`ms per answer, plain (${NEW_TOKENS} tokens)`, (r) => r.plainTotalMs.toFixed(0));
  line('ms per answer, ICoT (k 16)', (r) => `${r.icotTotalMs.toFixed(0)} (${r.insertions} ins.)`);
  line('ICoT / plain per answer', (r) => (r.icotTotalMs / r.plainTotalMs).toFixed(3));
  line('decoder GB/s read while decoding', (r) => (r.decoderBytes / 1e9 / (r.decodeMsPerToken / 1000)).toFixed(2));
  line(`  vs measured read bandwidth (${bandwidth.toFixed(2)} GB/s)`, (r) => (r.decoderBytes / 1e9 / (r.decodeMsPerToken / 1000) / bandwidth).toFixed(3));
  line('peak RSS MB', (r) => r.peakRssMb.toFixed(0));
  line('model written in s', (r) => r.writeS.toFixed(0));
  return {
    text: [
      `real shapes: generated decoder with Qwen2-VL-2B's text shapes (hidden ${s.hidden}, ${s.layers} layers, ${s.heads}/${s.kvHeads} heads, intermediate ${s.intermediate}, vocab ${s.vocab}, M-RoPE, GroupQueryAttention), ${IMAGE_SIDE}x${IMAGE_SIDE} image, onnxruntime-node CPU (2 threads); decode = wall clock between streamed tokens, same on both sides; read bandwidth = float32 GEMV of 256 MiB through onnxruntime, 2 threads`,
      table(rows),
      ...results.filter((r) => r.transformersSkipped).map((r) => `* ${r.dtype}: ${r.transformersSkipped}`),
    ].join('\n'),
    rows: [
      { name: 'read-bandwidth-gb-s', value: bandwidth, unit: 'GB/s' },
      ...results.flatMap((r) => [
        { name: `${r.dtype}-prefill-ms`, value: r.prefillMs, unit: 'ms' },
        { name: `${r.dtype}-decode-ms-per-token`, value: r.decodeMsPerToken, unit: 'ms' },
        { name: `${r.dtype}-untapped-decode-ms-per-token`, value: r.untappedDecodeMsPerToken, unit: 'ms' },
        ...(r.transformersDecodeMsPerToken === undefined
          ? []
          : [
              { name: `${r.dtype}-transformers-generate-ms-per-token`, value: r.transformersDecodeMsPerToken, unit: 'ms' },
              { name: `${r.dtype}-transformers-generate-vs-icot-decode`, value: r.transformersDecodeMsPerToken / r.decodeMsPerToken, unit: 'ratio' },
            ]),
        { name: `${r.dtype}-icot-vs-plain-per-answer`, value: r.icotTotalMs / r.plainTotalMs, unit: 'ratio' },
        { name: `${r.dtype}-decoder-read-vs-bandwidth`, value: r.decoderBytes / 1e9 / (r.decodeMsPerToken / 1000) / bandwidth, unit: 'ratio' },
        { name: `${r.dtype}-peak-rss-mb`, value: r.peakRssMb, unit: 'MB' },
      ]),
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  process.stdout.write(JSON.stringify(await measure(process.argv[2] as WeightDtype, process.argv[3]!)));
}
