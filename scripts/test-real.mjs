#!/usr/bin/env node
// `pnpm test:real`: the real-model check (packages/testing/src/real-model.ts) against the model
// folder in ICOT_REAL_MODEL, loaded with ICOT_REAL_BACKEND (onnx, the default, or transformers)
// and the weight variant ICOT_REAL_DTYPE (e.g. fp16, q4f16). Without ICOT_REAL_MODEL it says it
// is skipped and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const model = process.env.ICOT_REAL_MODEL;
if (!model) {
  console.log(
    'test:real skipped: ICOT_REAL_MODEL is not set.\n' +
      'Set it to a model folder in the onnx-community layout to check a real export, e.g.\n' +
      '  ICOT_REAL_MODEL=~/models/Qwen2-VL-2B-Instruct pnpm test:real\n' +
      '(ICOT_REAL_BACKEND=onnx|transformers picks the backend, ICOT_REAL_DTYPE=fp16|q4|q4f16|... the weight variant).',
  );
  process.exit(0);
}
// relative to the directory the command was typed in (pnpm runs scripts from the repo root and sets INIT_CWD)
const dir = resolve(process.env.INIT_CWD ?? process.cwd(), model);
if (!existsSync(dir) || !statSync(dir).isDirectory()) {
  console.error(`test:real: ICOT_REAL_MODEL=${model} is not a folder (resolved to ${dir}).`);
  process.exit(2);
}
const backend = process.env.ICOT_REAL_BACKEND || 'onnx';
if (backend !== 'onnx' && backend !== 'transformers') {
  console.error(`test:real: ICOT_REAL_BACKEND must be onnx or transformers, got '${backend}'.`);
  process.exit(2);
}
console.log(`test:real: checking ${dir} with the ${backend} backend${process.env.ICOT_REAL_DTYPE ? `, dtype ${process.env.ICOT_REAL_DTYPE}` : ''}`);
const vitest = join(root, 'node_modules', '.bin', 'vitest');
const run = spawnSync(vitest, ['run', 'test/real-model.test.ts', '--reporter=verbose'], {
  cwd: join(root, 'packages', `backend-${backend}`),
  stdio: 'inherit',
  env: { ...process.env, ICOT_REAL_MODEL: dir, ICOT_REAL_BACKEND: backend },
});
process.exit(run.status ?? 1);
