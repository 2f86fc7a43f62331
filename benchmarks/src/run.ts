/**
 * `pnpm bench`: ICoT against plain decoding on the same model. Numbers are wall-clock medians on
 * this machine; compare ratios within one run, not absolute times across machines.
 */
import { cpus } from 'node:os';
import { loadOnnxModel } from '@icot/backend-onnx';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image';
import { icotVsPlain } from './icot-vs-plain.js';

const rounds = Number(process.env['ICOT_BENCH_ROUNDS'] ?? 15);
console.log(`icot benchmarks - node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}\n`);

const model = await loadOnnxModel(demoModel.dir);
const image = await model.encodeImage(await readImageFile(demoModel.image));
console.log(
  await icotVsPlain({
    label: 'demo model (tiny Qwen2-VL, onnxruntime-node CPU)',
    model,
    prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
    signalTokenIds: demoModel.signalTokenIds,
    maxNewTokens: 128,
    rounds,
  }),
);
await model.dispose();
