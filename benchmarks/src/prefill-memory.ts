/**
 * Peak resident memory of one prefill through a decoder graph, in a fresh process per variant:
 * untapped, tapped (the backend's in-graph reduction) and naive (every layer's full Softmax output
 * exposed as a graph output). Run as `node prefill-memory.js <variant> <tokens>` it measures one
 * variant; `prefillMemory()` runs all of them as child processes.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sequentialPositions } from '@icot/core';
import { findAttentionSites, loadDecoderGraph, OnnxDecodingSession, tapAttention } from '@icot/backend-onnx';
import { appendToGraph, encodeValueInfo, OnnxDataType, parseOnnxModel } from '@icot/onnx-proto';
import { buildDecoder, type AttentionKind, type DecoderSpec } from '@icot/testing';
import { decoderFeeds } from './decoder-feeds.js';
import type { SectionResult } from './report.js';
import { table } from './stats.js';
import { peakKb } from './memory.js';

/** The tiny model of the measurement. */
export function memorySpec(attention: AttentionKind): DecoderSpec {
  return { hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 512, vocab: 1000, ropeTheta: 10000, mropeSection: [4, 6, 6], attention, seed: 3 };
}

type Variant = 'untapped' | 'tapped' | 'full';

function graph(variant: Variant, spec: DecoderSpec): Uint8Array {
  const bytes = buildDecoder(spec);
  if (variant === 'untapped') return bytes;
  const model = parseOnnxModel(bytes);
  const sites = findAttentionSites(model, spec.layers);
  if (!sites.supported) throw new Error(sites.reason);
  if (variant === 'tapped') return tapAttention(model, sites).bytes;
  if (sites.shape !== 'softmax') throw new Error('the naive variant exposes Softmax outputs');
  return appendToGraph(model, { outputs: sites.nodes.map((n) => encodeValueInfo(n.outputs[0]!, OnnxDataType.FLOAT)) });
}

async function measure(variant: Variant, attention: AttentionKind, tokens: number): Promise<void> {
  const spec = memorySpec(attention);
  let extra = 0;
  let before: number;
  if (variant === 'full') {
    const session = await ort.InferenceSession.create(graph(variant, spec));
    const feeds = decoderFeeds(spec, tokens);
    global.gc?.();
    before = peakKb();
    const out = await session.run(feeds);
    for (const [name, t] of Object.entries(out)) if (!name.startsWith('present.') && name !== 'logits') extra += (t.data as Float32Array).byteLength;
  } else {
    // Through the backend's own decoder loading and session (taps, chunked prefill).
    const dir = await mkdtemp(join(tmpdir(), 'icot-mem-'));
    const path = join(dir, 'decoder.onnx');
    await writeFile(path, buildDecoder(spec));
    const decoder = await loadDecoderGraph(path, 'decoder.onnx', { numKeyValueHeads: spec.kvHeads, headDim: spec.hidden / spec.heads }, { tapAttention: variant === 'tapped' });
    const embeds = decoderFeeds(spec, tokens)['inputs_embeds']!;
    const session = new OnnxDecodingSession(decoder, async () => embeds, 'bench');
    const positions = sequentialPositions(3, 0, tokens);
    global.gc?.();
    before = peakKb();
    const out = await session.step({ segments: [{ type: 'tokens', ids: new Array<number>(tokens).fill(0) }], positions, attention: variant === 'tapped' });
    extra = out.attention ? decoder.tapOutputs!.length * out.attention.byteLength : 0;
    await rm(dir, { recursive: true, force: true });
  }
  const after = peakKb();
  process.stdout.write(JSON.stringify({ variant, peakKb: after, prefillGrowthKb: after - before, extraOutputBytes: extra }));
}

/** Run every variant in its own process; returns a report. */
export function prefillMemory(tokens = 2000): SectionResult {
  const self = fileURLToPath(import.meta.url);
  const measured: SectionResult['rows'][number][] = [];
  const rows: string[][] = [['decoder graph', 'peak RSS MB', 'prefill growth MB', 'attention outputs']];
  const runs: [AttentionKind, Variant][] = [
    ['softmax', 'untapped'],
    ['softmax', 'tapped'],
    ['softmax', 'full'],
    ['group-query-attention', 'untapped'],
    ['group-query-attention', 'tapped'],
  ];
  for (const [attention, variant] of runs) {
    const r = JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, variant, attention, String(tokens)], { encoding: 'utf8' })) as { peakKb: number; prefillGrowthKb: number; extraOutputBytes: number };
    const label = `${attention}: ${{ untapped: 'untapped', tapped: 'tapped (in-graph last row, head mean)', full: 'naive (full attention outputs)' }[variant]}`;
    measured.push({ name: `${attention}-${variant}-peak-rss-mb`, value: r.peakKb / 1024, unit: 'MB' });
    rows.push([label, (r.peakKb / 1024).toFixed(1), (r.prefillGrowthKb / 1024).toFixed(1), r.extraOutputBytes >= 1e6 ? `${(r.extraOutputBytes / 1e6).toFixed(1)} MB` : `${(r.extraOutputBytes / 1e3).toFixed(1)} kB`]);
  }
  const s = memorySpec('softmax');
  const text = [
    `prefill of ${tokens} tokens through the backend's decoder session, tiny decoder (hidden ${s.hidden}, ${s.layers} layers, ${s.heads} heads), one process per graph`,
    table(rows),
    `(layers x T floats = ${((s.layers * tokens * 4) / 1e3).toFixed(0)} kB; layers x heads x S x T floats = ${((s.layers * s.heads * tokens * tokens * 4) / 1e6).toFixed(0)} MB)`,
  ].join('\n');
  return { text, rows: measured };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  await measure(process.argv[2] as Variant, process.argv[3] as AttentionKind, Number(process.argv[4] ?? 2000));
}
