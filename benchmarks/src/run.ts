/**
 * `pnpm bench`: ICoT against plain decoding, the cost of attention taps, and the memory of a
 * tapped prefill. Numbers are wall-clock medians on this machine; compare ratios within one run.
 * ICOT_BENCH=icot,tap,memory,backends,decoders picks sections (default all).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestImage } from '@icot/core/test';
import { writeTinyQwen2Vl } from '@icot/testing';
import { compareBackends } from './backends.js';
import { compareDecoders } from './decoders.js';
import { loadOnnxModel } from '@icot/backend-onnx';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image';
import { icotVsPlain } from './icot-vs-plain.js';
import { prefillMemory } from './prefill-memory.js';
import { tapStepCost } from './tap-step-cost.js';

const sections = new Set((process.env['ICOT_BENCH'] ?? 'icot,tap,memory,backends,decoders').split(','));
const rounds = Number(process.env['ICOT_BENCH_ROUNDS'] ?? 15);
console.log(`icot benchmarks - node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}\n`);

if (sections.has('icot')) {
  const model = await loadOnnxModel(demoModel.dir);
  const image = await model.encodeImage(await readImageFile(demoModel.image));
  console.log(
    await icotVsPlain({
      label: 'ICoT vs plain decoding, demo model (tiny Qwen2-VL, onnxruntime-node CPU)',
      model,
      prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
      signalTokenIds: demoModel.signalTokenIds,
      maxNewTokens: 128,
      rounds,
    }),
    '\n',
  );
  await model.dispose();
}
if (sections.has('tap')) {
  for (const attention of ['softmax', 'group-query-attention'] as const) console.log(await tapStepCost(attention), '\n');
}
if (sections.has('memory')) console.log(prefillMemory(2000), '\n');
if (sections.has('backends')) {
  console.log(await compareBackends({ label: 'backends, demo model (tiny Qwen2-VL)', dir: demoModel.dir, image: await readImageFile(demoModel.image), question: demoModel.question, maxNewTokens: 64, rounds }), '\n');
  const dir = await mkdtemp(join(tmpdir(), 'icot-bench-'));
  try {
    await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 5, init: 0.02 });
    console.log(
      await compareBackends({ label: 'backends, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32)', dir, image: createTestImage(224, 224), question: 'Describe the image.', maxNewTokens: 32, rounds: Math.max(3, Math.round(rounds / 3)) }),
      '\n',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
if (sections.has('decoders')) {
  const dir = await mkdtemp(join(tmpdir(), 'icot-bench-'));
  try {
    const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 6, init: 0.02, maxPixels: 504 * 504 });
    const model = await loadOnnxModel(dir);
    console.log(
      await compareDecoders('insertion decoders, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32), 504x504 image = 18x18 patches', model, createTestImage(504, 504), info.promptText, [16, 64, 256], Math.max(3, Math.round(rounds / 3))),
      '\n',
    );
    await model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
