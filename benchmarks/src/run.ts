/**
 * `pnpm bench`: ICoT against plain decoding, the cost of attention taps, and the memory of a
 * tapped prefill. Numbers are wall-clock medians on this machine; compare ratios within one run.
 * ICOT_BENCH=icot,tap,memory picks sections (default all).
 */
import { cpus } from 'node:os';
import { loadOnnxModel } from '@icot/backend-onnx';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image';
import { icotVsPlain } from './icot-vs-plain.js';
import { prefillMemory } from './prefill-memory.js';
import { tapStepCost } from './tap-step-cost.js';

const sections = new Set((process.env['ICOT_BENCH'] ?? 'icot,tap,memory').split(','));
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
