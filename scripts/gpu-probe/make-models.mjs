#!/usr/bin/env node
// Writes the models of the GPU probe (probe.mjs beside this file) into OUT/models/<shape>/:
// a tiny Qwen2-VL decoder of each attention shape icot taps (plain Softmax, GroupQueryAttention,
// MultiHeadAttention; built by @icot/testing), as generated (plain.onnx), with icot's attention
// taps added as on the CPU (tapped.onnx) and, for the fused shapes, with the taps that recompute
// the row from plain operators for GPU providers (recomputed.onnx), and spec.json (inputs, tap
// output names).
//
//   pnpm build && node scripts/gpu-probe/make-models.mjs OUT
//
// Then copy probe.mjs and onnxruntime-node (with onnxruntime-common) into OUT/node_modules, take OUT
// (and a node binary) to the GPU machine and run `node OUT/probe.mjs webgpu cuda`: one JSON line per
// decoder, variant and provider, with the largest difference from the CPU's logits and tap outputs,
// or the provider's error. On Linux, WebGPU needs libvulkan1 and the GPU driver's Vulkan ICD
// (VK_DRIVER_FILES). The README's "Checked once by hand" paragraph came from this.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!out) {
  console.error('usage: node scripts/gpu-probe/make-models.mjs OUT');
  process.exit(2);
}
// The workspace packages, resolved from a package that depends on all three (built dist files).
const requireFrom = createRequire(join(root, 'packages', 'backend-onnx', 'package.json'));
const load = (name) => import(pathToFileURL(requireFrom.resolve(name)).href);
const { writeTinyQwen2Vl } = await load('@icot/testing/models');
const { parseOnnxModel } = await load('@icot/onnx-proto');
const { findAttentionSites, tapAttention } = await load('@icot/onnx-decoding');

for (const attention of ['softmax', 'group-query-attention', 'multi-head-attention']) {
  const dir = mkdtempSync(join(tmpdir(), 'icot-gpu-probe-'));
  try {
    await writeTinyQwen2Vl(dir, { attention, layers: 2, heads: 4, kvHeads: attention === 'multi-head-attention' ? 4 : 2, hidden: 64, seed: 3 });
    const bytes = readFileSync(join(dir, 'onnx', 'decoder_model_merged.onnx'));
    const model = parseOnnxModel(bytes);
    const sites = findAttentionSites(model);
    if (!sites.supported) throw new Error(sites.reason);
    const tapped = tapAttention(model, sites);
    const target = join(out, 'models', attention);
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'plain.onnx'), bytes);
    writeFileSync(join(target, 'tapped.onnx'), tapped.bytes);
    // fused attention: the tap that recomputes the row from plain operators (for GPU providers)
    if (sites.shape !== 'softmax') writeFileSync(join(target, 'recomputed.onnx'), tapAttention(model, sites, undefined, 'recompute').bytes);
    const spec = { attention, shape: sites.shape, taps: tapped.outputs, inputs: model.inputs.map((i) => ({ name: i.name, elemType: i.elemType, dims: i.dims })) };
    writeFileSync(join(target, 'spec.json'), `${JSON.stringify(spec, null, 1)}\n`);
    console.error(`${attention}: ${target}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
