import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from 'onnxruntime-common';
import { writeTinyQwen2Vl, type TinyModelSettings } from '@icot/testing';
import { loadOnnxModel, type AssembledModel } from '../src/index.js';

const root = await mkdtemp(join(tmpdir(), 'icot-prefill-logits-'));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Qwen2-VL's vocabulary size. */
const VOCAB = 151_936;
const TOKENS = 1000;

describe(`a ${TOKENS}-token prefill at V = ${VOCAB}`, () => {
  const cases: [string, TinyModelSettings, { tapAttention?: boolean }, number][] = [
    ['fp32, plain attention, tapped', { attention: 'softmax', dtype: 'fp32' }, {}, 1],
    ['q4 (MatMulNBits lm_head), GroupQueryAttention, tapped (prefilled in chunks of 512)', { attention: 'group-query-attention', dtype: 'q4' }, {}, 2],
    ['fp16, GroupQueryAttention, untapped', { attention: 'group-query-attention', dtype: 'fp16' }, { tapAttention: false }, 1],
  ];
  for (const [name, settings, options, runs] of cases)
    it(`${name}: onnxruntime returns logits of dims [1, 1, V] (one row, not ${TOKENS})`, async () => {
      const dtype = settings.dtype!;
      const info = await writeTinyQwen2Vl(join(root, dtype), { ...settings, layers: 1, hidden: 32, heads: 2, kvHeads: 1, vocab: VOCAB, seed: 8 });
      const model = (await loadOnnxModel(info.dir, { dtype, ...options })) as AssembledModel;
      const session = model.decoder.session as unknown as { run: (...args: unknown[]) => Promise<Record<string, Tensor>> };
      const run = session.run.bind(session);
      const returned: { dims: readonly number[]; type: string; bytes: number }[] = [];
      session.run = async (...args) => {
        const out = await run(...args);
        const logits = out['logits']!;
        returned.push({ dims: logits.dims, type: logits.type, bytes: (logits.data as Float32Array | Uint16Array).byteLength });
        return out;
      };
      const decoding = model.createSession();
      const ids = Array.from({ length: TOKENS }, (_, i) => (i * 7919) % 300);
      const out = await decoding.step({ segments: [{ type: 'tokens', ids }], positions: model.family.textPositions(0, TOKENS), attention: options.tapAttention !== false });
      const elementBytes = dtype === 'fp16' ? 2 : 4;
      expect(returned).toEqual(Array.from({ length: runs }, () => ({ dims: [1, 1, VOCAB], type: dtype === 'fp16' ? 'float16' : 'float32', bytes: VOCAB * elementBytes })));
      expect(VOCAB * elementBytes).toBeLessThanOrEqual(1e6); // the bound: <= 1 MB (not 1000 x 0.6 MB)
      expect(out.logits.length).toBe(VOCAB);
      expect(out.logits.every(Number.isFinite)).toBe(true);
      if (options.tapAttention !== false) expect(out.attention!.length).toBe(TOKENS);
      decoding.dispose();
      await model.dispose();
    });
});
