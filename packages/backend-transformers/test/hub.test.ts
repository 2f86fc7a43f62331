import { lstat, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSignalTrigger, generateICoT, ModelFilesError } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { decodeImage } from '@icot/image';
import { createAdsSelector } from '@icot/selector-ads';
import { HubRepository, listTappedCopies, scratchDir } from '@icot/hub';
import { copyModel, fixturePath, loadOracle, moveWeightsToExternalData } from '@icot/testing';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import { loadTransformersModel, type TransformersVisionLanguageModel } from '../src/index.js';

// A local stand-in for the Hugging Face hub; downloads go to the huggingface_hub cache layout.
const REPO = 'test-org/tiny-qwen2-vl';
const EXTERNAL = 'test-org/tiny-qwen2-vl-external-data';
const oracle = loadOracle('tiny-qwen2-vl');
const image = decodeImage(new Uint8Array(await readFile(fixturePath('tiny-qwen2-vl', 'image.png'))));
let hub: TestHub;
let root: string;
let fixtureFiles: Record<string, Uint8Array>;

async function readFolder(dir: string, prefix = ''): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(out, await readFolder(dir, path));
    else out[path] = new Uint8Array(await readFile(join(dir, path)));
  }
  return out;
}

const run = (model: TransformersVisionLanguageModel) =>
  model.encodeImage(image).then((encoded) =>
    generateICoT({
      model,
      prompt: { text: oracle.prompt_text, images: [encoded] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
      k: oracle.k,
      maxInsertions: oracle.max_insertions,
      maxNewTokens: oracle.max_new_tokens,
    }),
  );

beforeAll(async () => {
  hub = await startTestHub();
  fixtureFiles = await readFolder(fixturePath('tiny-qwen2-vl'));
  hub.commit(REPO, fixtureFiles);
  const copy = await copyModel('tiny-qwen2-vl');
  try {
    await moveWeightsToExternalData(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'), 'decoder_model_merged.onnx_data');
    hub.commit(EXTERNAL, await readFolder(copy.dir));
  } finally {
    await copy.cleanup();
  }
  root = await mkdtemp(join(tmpdir(), 'icot-tjs-hub-'));
});
afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

describe('transformers.js hub loading', () => {
  it('downloads into the hub cache, which a later offline load (and any hub client) reuses without a request', async () => {
    const cacheDir = join(root, 'hub');
    const tappedCacheDir = join(root, 'icot');
    const files: string[] = [];
    const model = await loadTransformersModel(REPO, { endpoint: hub.endpoint, cacheDir, tappedCacheDir, onProgress: (p) => p.done && files.push(p.file) });
    expect(model.capabilities.attention).toBe(true);
    expect((await run(model)).tokens).toEqual(oracle.tokens);
    await model.dispose();
    expect(files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/decoder_model_merged.onnx']));
    const snapshot = join(cacheDir, 'models--test-org--tiny-qwen2-vl', 'snapshots');
    const [commit] = await readdir(snapshot);
    expect((await lstat(join(snapshot, commit!, 'onnx', 'decoder_model_merged.onnx'))).isSymbolicLink()).toBe(true);
    expect(await readdir(scratchDir(tappedCacheDir))).toEqual([]); // the folder transformers.js loaded is gone

    // A newer commit on main with another config: ignoring localFilesOnly would show in the log and fail.
    hub.commit(REPO, { ...fixtureFiles, 'config.json': JSON.stringify({ model_type: 'not-a-vlm' }) });
    try {
      hub.requests.length = 0;
      const again = await loadTransformersModel(REPO, { endpoint: hub.endpoint, cacheDir, tappedCacheDir, localFilesOnly: true });
      await again.dispose();
      const offline = new HubRepository(REPO, { endpoint: hub.endpoint, cacheDir, localFilesOnly: true });
      await offline.fetchFiles(['config.json', 'onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx']);
      expect(hub.requests).toEqual([]);
    } finally {
      hub.commit(REPO, fixtureFiles);
    }
  });

  it('keys tapped copies by content: one copy serves the hub snapshot and any folder holding the same decoder', async () => {
    const cacheDir = join(root, 'hub-2');
    const tappedCacheDir = join(root, 'icot-2');
    const fromHub = await loadTransformersModel(REPO, { endpoint: hub.endpoint, cacheDir, tappedCacheDir });
    await fromHub.dispose();
    const first = await copyModel('tiny-qwen2-vl');
    const second = await copyModel('tiny-qwen2-vl');
    try {
      const a = await loadTransformersModel(first.dir, { tappedCacheDir });
      await a.dispose();
      await first.cleanup(); // a deleted model folder leaves nothing behind in the cache
      const b = await loadTransformersModel(second.dir, { tappedCacheDir });
      expect((await run(b)).tokens).toEqual(oracle.tokens);
      await b.dispose();
      const copies = await listTappedCopies(tappedCacheDir);
      expect(copies).toHaveLength(1);
      expect(copies[0]!.made?.contentId).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect((await readdir(copies[0]!.dir)).sort()).toEqual(['meta.json', 'model.onnx']); // no links to model folders
      // another tap setting is another copy
      const some = await loadTransformersModel(second.dir, { tappedCacheDir, attentionLayers: [0] });
      await some.dispose();
      expect(await listTappedCopies(tappedCacheDir)).toHaveLength(2);
    } finally {
      await Promise.all([first.cleanup(), second.cleanup()]);
    }
  });

  it('loads a decoder with external weights from the snapshot (weights hard-linked for onnxruntime)', async () => {
    const model = await loadTransformersModel(EXTERNAL, { endpoint: hub.endpoint, cacheDir: join(root, 'hub-3'), tappedCacheDir: join(root, 'icot-3') });
    expect(model.capabilities.attention).toBe(true);
    const result = await run(model);
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    await model.dispose();
  });

  it('names a weight variant the repository does not have', async () => {
    const error = await loadTransformersModel(REPO, { endpoint: hub.endpoint, cacheDir: join(root, 'hub-4'), dtype: 'q4' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as ModelFilesError).hint).toMatch(/onnx\/decoder_model_merged\.onnx/);
  });
});
