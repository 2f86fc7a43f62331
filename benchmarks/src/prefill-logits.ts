/**
 * What a long prefill costs at a real vocabulary size: the logits tensor onnxruntime returns and the
 * process's peak memory, for the decoder graph as exported and as the ONNX backend loads it. Run as
 * `node prefill-logits.js <variant> <tokens>` it measures one variant in this process;
 * `prefillLogits()` runs each variant in a fresh child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { loadDecoderGraph } from '@icot/backend-onnx';
import { buildDecoder, type DecoderSpec } from '@icot/testing';
import { decoderFeeds } from './decoder-feeds.js';
import { currentKb, peakKb, resetPeak } from './memory.js';
import type { SectionResult } from './report.js';
import { table } from './stats.js';

/** A small decoder with Qwen2-VL's vocabulary: the logits dominate a long prefill's outputs. */
export function logitsSpec(): DecoderSpec {
  return { hidden: 256, layers: 2, heads: 8, kvHeads: 4, intermediate: 512, vocab: 151_936, ropeTheta: 10000, mropeSection: [4, 6, 6], attention: 'softmax', seed: 4 };
}

type Variant = 'exported' | 'backend';

interface Measurement {
  readonly logitsDims: readonly number[];
  readonly logitsBytes: number;
  /** Peak RSS while the prefill ran. */
  readonly peakKb: number;
  /** Peak RSS during the prefill over RSS before it. */
  readonly prefillGrowthKb: number;
}

async function measure(variant: Variant, tokens: number): Promise<Measurement> {
  const spec = logitsSpec();
  const dir = await mkdtemp(join(tmpdir(), 'icot-logits-'));
  try {
    const path = join(dir, 'decoder.onnx');
    await writeFile(path, buildDecoder(spec));
    const session =
      variant === 'exported'
        ? await ort.InferenceSession.create(path)
        : (await loadDecoderGraph(path, 'decoder.onnx', { numKeyValueHeads: spec.kvHeads, headDim: spec.hidden / spec.heads }, { tapAttention: false })).session;
    const feeds = decoderFeeds(spec, tokens);
    global.gc?.();
    // peak of the prefill alone: loading (graph edits, weights) may peak higher than the run itself
    const before = resetPeak() ? currentKb() : peakKb();
    const out = await session.run(feeds);
    const logits = out['logits']!;
    const after = peakKb();
    return { logitsDims: logits.dims, logitsBytes: (logits.data as Float32Array).byteLength, peakKb: after, prefillGrowthKb: after - before };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Run each variant in its own process; returns the report. */
export function prefillLogits(tokens = 1000): SectionResult {
  const self = fileURLToPath(import.meta.url);
  const run = (variant: Variant): Measurement => JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, variant, String(tokens)], { encoding: 'utf8' })) as Measurement;
  const exported = run('exported');
  const backend = run('backend');
  const spec = logitsSpec();
  const mb = (bytes: number) => bytes / 1e6;
  return {
    text: [
      `prefill of ${tokens} tokens at V = ${spec.vocab} (decoder hidden ${spec.hidden}, ${spec.layers} layers, fp32), one process per graph; logits = the tensor onnxruntime returns`,
      table([
        ['decoder graph', 'logits dims', 'logits MB', 'peak RSS in prefill MB', 'prefill growth MB'],
        ['as exported', `[${exported.logitsDims.join(', ')}]`, mb(exported.logitsBytes).toFixed(3), (exported.peakKb / 1024).toFixed(1), (exported.prefillGrowthKb / 1024).toFixed(1)],
        ['as the ONNX backend loads it', `[${backend.logitsDims.join(', ')}]`, mb(backend.logitsBytes).toFixed(3), (backend.peakKb / 1024).toFixed(1), (backend.prefillGrowthKb / 1024).toFixed(1)],
      ]),
    ].join('\n'),
    rows: [
      { name: 'logits-mb', value: mb(backend.logitsBytes), unit: 'MB' },
      { name: 'exported-logits-mb', value: mb(exported.logitsBytes), unit: 'MB' },
      { name: 'prefill-growth-mb', value: backend.prefillGrowthKb / 1024, unit: 'MB' },
      { name: 'exported-prefill-growth-mb', value: exported.prefillGrowthKb / 1024, unit: 'MB' },
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  process.stdout.write(JSON.stringify(await measure(process.argv[2] as Variant, Number(process.argv[3] ?? 1000))));
}
