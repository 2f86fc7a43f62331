import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom, TokenSampler, type SamplingOptions } from '@icot/core';
import { createTestImage } from '@icot/core/test';
import { loadOnnxModel } from '@icot/backend-onnx';
import { writeTinyQwen2Vl } from '@icot/testing';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** Vocabulary of Qwen2-VL (config `vocab_size`). */
export const QWEN2_VL_VOCAB = 151_936;

/**
 * Cost of sampling at a real vocabulary size: per-token time of one decode step plus choosing the
 * next token, with top-p 0.9 / temperature 0.7 and with greedy decoding, on the same generated
 * decoder (hidden 1024, 8 layers, vocab 151,936), the same prompt and the same cache lengths, in
 * alternating rounds. Also times the sampler alone on the same logits.
 */
export async function samplingCost(rounds: number, steps = 24): Promise<SectionResult> {
  const dir = await mkdtemp(join(tmpdir(), 'icot-bench-sampling-'));
  try {
    const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: QWEN2_VL_VOCAB, seed: 11, init: 0.02 });
    const model = await loadOnnxModel(dir);
    const image = await model.encodeImage(createTestImage(224, 224));
    const prompt = await model.preparePrompt({ text: info.promptText, images: [image] });
    const topP: SamplingOptions = { temperature: 0.7, topP: 0.9, seed: 1 };
    /** Per-step ms of `steps` decode steps, each timed from sampling to the end of the forward pass. */
    const decode = async (sampling: SamplingOptions): Promise<{ stepMs: number; logits: Float32Array }> => {
      const sampler = new TokenSampler(model.vocabSize, sampling);
      const random = createRandom(sampling.seed ?? 0);
      const session = model.createSession();
      try {
        let { logits } = await session.step({ segments: prompt.segments, positions: prompt.positions });
        let position = prompt.nextPosition;
        const times: number[] = [];
        for (let s = 0; s < steps; s++) {
          const t0 = performance.now();
          const token = sampler.sample(logits, random);
          ({ logits } = await session.step({ segments: [{ type: 'tokens', ids: [token] }], positions: model.family.textPositions(position++, 1) }));
          times.push(performance.now() - t0);
        }
        return { stepMs: median(times), logits: logits.slice() };
      } finally {
        session.dispose();
      }
    };
    await decode({});
    await decode(topP);
    const greedy: number[] = [];
    const sampled: number[] = [];
    let logits: Float32Array = new Float32Array(0);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [topP, {}] : [{}, topP];
      for (const options of order) {
        const run = await decode(options);
        (options === topP ? sampled : greedy).push(run.stepMs);
        logits = run.logits;
      }
    }
    await model.dispose();
    // the sampler alone, on real logits of this model
    const samplerOnly = (options: SamplingOptions): number => {
      const sampler = new TokenSampler(QWEN2_VL_VOCAB, options);
      const random = createRandom(3);
      for (let i = 0; i < 20; i++) sampler.sample(logits, random);
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        sampler.sample(logits, random);
        times.push(performance.now() - t0);
      }
      return median(times);
    };
    const g = median(greedy);
    const p = median(sampled);
    const sg = samplerOnly({});
    const sp = samplerOnly(topP);
    const sk = samplerOnly({ temperature: 0.7, topK: 50 });
    const st = samplerOnly({ temperature: 0.7 });
    return {
      text: [
        `sampling at V = ${QWEN2_VL_VOCAB}, generated Qwen2-VL-style decoder (hidden 1024, 8 layers, fp32), ${steps} decode steps per run, median of ${rounds} alternating rounds`,
        table([
          ['', 'ms/token', 'vs greedy'],
          ['decode step + greedy', g.toFixed(2), '1.000'],
          ['decode step + top-p 0.9, temperature 0.7', p.toFixed(2), (p / g).toFixed(3)],
          ['sampler alone: greedy', sg.toFixed(3), ''],
          ['sampler alone: temperature 0.7', st.toFixed(3), ''],
          ['sampler alone: top-k 50, temperature 0.7', sk.toFixed(3), ''],
          ['sampler alone: top-p 0.9, temperature 0.7', sp.toFixed(3), ''],
        ]),
      ].join('\n'),
      rows: [
        { name: 'greedy-step-ms', value: g, unit: 'ms' },
        { name: 'top-p-step-ms', value: p, unit: 'ms' },
        { name: 'top-p-step-vs-greedy-step', value: p / g, unit: 'ratio' },
        { name: 'sampler-greedy-ms', value: sg, unit: 'ms' },
        { name: 'sampler-temperature-ms', value: st, unit: 'ms' },
        { name: 'sampler-top-k-ms', value: sk, unit: 'ms' },
        { name: 'sampler-top-p-ms', value: sp, unit: 'ms' },
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
