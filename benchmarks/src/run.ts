/**
 * `pnpm bench`: ICoT against plain decoding, the cost of attention taps, the per-step cost of the
 * triggers against the signal trigger, the memory of a tapped
 * prefill, backends, insertion decoders, the info-gain and grounding selectors against ADS, sampling and prefill at a real vocabulary size. Numbers are
 * wall-clock medians on this machine; compare ratios within one run.
 *
 * `ICOT_BENCH=icot,tap,...` picks sections (default: all but the long ones); `--json` prints JSON
 * Lines on stdout, one `{"section", "name", "value", "unit"}` object per measured row.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestImage } from '@icot/core/test';
import { writeTinyQwen2Vl } from '@icot/testing';
import { loadOnnxModel } from '@icot/backend-onnx';
import { demoModel } from '@icot/demo-model';
import { readImageFile } from '@icot/image/node';
import { compareBackends } from './backends.js';
import { compareDecoders } from './decoders.js';
import { icotVsPlain } from './icot-vs-plain.js';
import { groundingCost } from './grounding.js';
import { infoGainCost } from './info-gain.js';
import { prefillLogits } from './prefill-logits.js';
import { prefillMemory } from './prefill-memory.js';
import { realShape } from './real-shape.js';
import { BenchReport, type SectionResult } from './report.js';
import { samplingCost } from './sampling.js';
import { segmentationCost, segmentationSelectCost } from './segmentation.js';
import { tapStepCost } from './tap-step-cost.js';
import { triggerStepCost } from './triggers.js';

const rounds = Number(process.env['ICOT_BENCH_ROUNDS'] ?? 15);

/** Every section, in running order; `long` ones run only when named. */
const SECTIONS: readonly { readonly name: string; readonly long?: boolean; readonly run: () => Promise<SectionResult[]> }[] = [
  {
    name: 'icot',
    run: async () => {
      const model = await loadOnnxModel(demoModel.dir);
      const image = await model.encodeImage(await readImageFile(demoModel.image));
      try {
        return [
          await icotVsPlain({
            label: 'ICoT vs plain decoding, demo model (tiny Qwen2-VL, onnxruntime-node CPU)',
            model,
            prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
            signalTokenIds: demoModel.signalTokenIds,
            maxNewTokens: 128,
            rounds,
          }),
        ];
      } finally {
        await model.dispose();
      }
    },
  },
  { name: 'tap', run: async () => [await tapStepCost('softmax'), await tapStepCost('group-query-attention')] },
  {
    name: 'triggers',
    run: async () => {
      const results: SectionResult[] = [];
      const demo = await loadOnnxModel(demoModel.dir);
      try {
        const image = await demo.encodeImage(await readImageFile(demoModel.image));
        results.push(
          await triggerStepCost({
            label: 'triggers, demo model (tiny Qwen2-VL: 2 layers, vocab 488; onnxruntime-node CPU)',
            model: demo,
            prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
            attentionLayers: { last: 2 },
            maxNewTokens: 64,
            rounds,
            rowPrefix: 'demo-',
          }),
        );
      } finally {
        await demo.dispose();
      }
      await withTempDir(async (dir) => {
        const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 7, init: 0.02 });
        const model = await loadOnnxModel(dir, { intraOpNumThreads: 1 });
        try {
          const image = await model.encodeImage(createTestImage(224, 224));
          results.push(
            await triggerStepCost({
              label: 'triggers, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32, 1 thread)',
              model,
              prompt: { text: info.promptText, images: [image] },
              attentionLayers: { last: 3 },
              maxNewTokens: 32,
              rounds: Math.max(3, Math.round(rounds / 3)),
              rowPrefix: 'mid-size-',
            }),
          );
        } finally {
          await model.dispose();
        }
      });
      return results;
    },
  },
  { name: 'memory', run: async () => [prefillMemory(2000)] },
  {
    name: 'backends',
    run: async () => {
      const results = [await compareBackends({ label: 'backends, demo model (tiny Qwen2-VL)', dir: demoModel.dir, image: await readImageFile(demoModel.image), question: demoModel.question, maxNewTokens: 64, rounds, rowPrefix: 'demo-' })];
      await withTempDir(async (dir) => {
        await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 5, init: 0.02 });
        results.push(
          await compareBackends({
            label: 'backends, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32)',
            dir,
            image: createTestImage(224, 224),
            question: 'Describe the image.',
            maxNewTokens: 32,
            rounds: Math.max(3, Math.round(rounds / 3)),
            rowPrefix: 'mid-size-',
          }),
        );
      });
      return results;
    },
  },
  {
    name: 'decoders',
    run: () =>
      withTempDir(async (dir) => {
        const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 6, init: 0.02, maxPixels: 504 * 504 });
        const model = await loadOnnxModel(dir);
        try {
          return [
            await compareDecoders(
              'insertion decoders, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32), 504x504 image = 18x18 patches',
              model,
              createTestImage(504, 504),
              info.promptText,
              [16, 64, 256],
              Math.max(3, Math.round(rounds / 3)),
            ),
          ];
        } finally {
          await model.dispose();
        }
      }),
  },
  {
    name: 'info-gain',
    run: async () => {
      const results: SectionResult[] = [];
      const demo = await loadOnnxModel(demoModel.dir);
      try {
        const image = await demo.encodeImage(await readImageFile(demoModel.image));
        results.push(
          await infoGainCost({
            label: 'info-gain vs ADS, demo model (tiny Qwen2-VL: 2 layers, vocab 488; onnxruntime-node CPU)',
            model: demo,
            prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
            signalTokenIds: demoModel.signalTokenIds,
            every: 2,
            maxNewTokens: 64,
            maxInsertions: 3,
            rounds,
            rowPrefix: 'demo-',
          }),
        );
      } finally {
        await demo.dispose();
      }
      await withTempDir(async (dir) => {
        const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, vocab: 32000, seed: 8, init: 0.02 });
        const model = await loadOnnxModel(dir);
        try {
          const image = await model.encodeImage(createTestImage(224, 224));
          results.push(
            await infoGainCost({
              label: 'info-gain vs ADS, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 32k, fp32), 224x224 image = 8x8 patches',
              model,
              prompt: { text: info.promptText, images: [image] },
              signalTokenIds: Array.from({ length: model.vocabSize }, (_, i) => i),
              every: 8,
              maxNewTokens: 16,
              maxInsertions: 1,
              rounds: Math.max(3, Math.round(rounds / 5)),
              rowPrefix: 'mid-size-',
            }),
          );
        } finally {
          await model.dispose();
        }
      });
      return results;
    },
  },
  {
    name: 'grounding',
    run: async () => {
      const results: SectionResult[] = [];
      const demo = await loadOnnxModel(demoModel.dir);
      try {
        const image = await demo.encodeImage(await readImageFile(demoModel.image));
        results.push(
          await groundingCost({
            label: 'grounding vs ADS, demo model (tiny Qwen2-VL: 2 layers, vocab 488, plain box form; onnxruntime-node CPU)',
            model: demo,
            prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
            signalTokenIds: demoModel.signalTokenIds,
            every: 2,
            maxNewTokens: 64,
            maxInsertions: 3,
            rounds,
            rowPrefix: 'demo-',
          }),
        );
      } finally {
        await demo.dispose();
      }
      await withTempDir(async (dir) => {
        // the tokenizer's own vocabulary (320): with a 32k vocabulary the random model writes ids the
        // generated tokenizer cannot decode, so the step has no text and grounding falls back at once
        const info = await writeTinyQwen2Vl(dir, { hidden: 1024, layers: 8, heads: 16, kvHeads: 8, intermediate: 2816, seed: 9, init: 0.02 });
        const model = await loadOnnxModel(dir);
        try {
          const image = await model.encodeImage(createTestImage(224, 224));
          results.push(
            await groundingCost({
              label: 'grounding vs ADS, generated Qwen2-VL-style model (hidden 1024, 8 layers, vocab 320, fp32; plain box form), 224x224 image = 8x8 patches',
              model,
              prompt: { text: info.promptText, images: [image] },
              signalTokenIds: Array.from({ length: model.vocabSize }, (_, i) => i),
              every: 8,
              maxNewTokens: 16,
              maxInsertions: 1,
              rounds: Math.max(3, Math.round(rounds / 5)),
              rowPrefix: 'mid-size-',
            }),
          );
        } finally {
          await model.dispose();
        }
      });
      return results;
    },
  },
  {
    name: 'segmentation',
    run: async () => {
      const demo = await loadOnnxModel(demoModel.dir);
      try {
        const image = await demo.encodeImage(await readImageFile(demoModel.image));
        return [
          await segmentationCost({
            label: 'segmentation vs ADS, demo model (tiny Qwen2-VL: 2 layers, vocab 488, 224 x 224 image = 8 x 8 patches; onnxruntime-node CPU)',
            model: demo,
            prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: demoModel.question }] }], images: [image] },
            signalTokenIds: demoModel.signalTokenIds,
            every: 2,
            maxNewTokens: 64,
            rounds,
            rowPrefix: 'demo-',
          }),
          await segmentationSelectCost(1024, 768, Math.max(3, Math.round(rounds / 3))),
        ];
      } finally {
        await demo.dispose();
      }
    },
  },
  { name: 'sampling', run: async () => [await samplingCost(Math.max(3, Math.round(rounds / 3)))] },
  { name: 'prefill', run: async () => [prefillLogits(1000)] },
  { name: 'real-shape', long: true, run: async () => [await realShape()] },
];

async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'icot-bench-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The sections named in ICOT_BENCH (default: all but the long ones); exits 2 on an unknown name. */
function chosenSections(): typeof SECTIONS {
  const names = SECTIONS.map((s) => s.name);
  const setting = process.env['ICOT_BENCH']?.trim();
  if (!setting) return SECTIONS.filter((s) => !s.long);
  const wanted = setting.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !names.includes(w));
  if (unknown.length) {
    process.stderr.write(`error: unknown benchmark section${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} in ICOT_BENCH.\nhint: use a comma-separated list of: ${names.join(', ')}.\n`);
    process.exit(2);
  }
  return SECTIONS.filter((s) => wanted.includes(s.name));
}

const args = process.argv.slice(2);
const badArgs = args.filter((a) => a !== '--json');
if (badArgs.length) {
  process.stderr.write(`error: unknown argument${badArgs.length > 1 ? 's' : ''} ${badArgs.join(' ')}.\nhint: pnpm bench [--json]; pick sections with ICOT_BENCH=${SECTIONS.map((s) => s.name).join(',')}.\n`);
  process.exit(2);
}
const sections = chosenSections();
const report = new BenchReport(args.includes('--json'));

// Benchmarks never touch the user's caches: hub downloads and tapped model copies go to a temporary folder.
const cacheRoot = await mkdtemp(join(tmpdir(), 'icot-bench-cache-'));
for (const variable of ['ICOT_CACHE_DIR', 'HF_HOME', 'HF_HUB_CACHE']) process.env[variable] = join(cacheRoot, variable.toLowerCase());
try {
  report.note(`icot benchmarks - node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; sections: ${sections.map((s) => s.name).join(', ')}\n`);
  for (const section of sections) for (const result of await section.run()) report.section(section.name, result);
} finally {
  await rm(cacheRoot, { recursive: true, force: true });
}
