import { lstat, mkdtemp, readdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, createSignalTrigger, generateICoT, ModelFilesError, NetworkError } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { readImageFile } from '@icot/image/node';
import { createAdsSelector } from '@icot/selector-ads';
import { copyModel, fixturePath, loadOracle, moveWeightsToExternalData } from '@icot/testing';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import { scratchDir } from '@icot/hub';
import { downloadOnnxModel, isHubId, loadOnnxModel, type DownloadProgress } from '../src/index.js';

// A local stand-in for the Hugging Face hub serving the fixture folder as `test-org/tiny-qwen2-vl`.
const REPO = 'test-org/tiny-qwen2-vl';
const EXTERNAL = 'test-org/tiny-qwen2-vl-external-data';
const NEEDED = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'];
let hub: TestHub;
let commit: string;
let cacheDir: string;
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

async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, root)));
    else out.push(relative(root, p));
  }
  return out;
}

beforeAll(async () => {
  hub = await startTestHub();
  fixtureFiles = await readFolder(fixturePath('tiny-qwen2-vl'));
  commit = hub.commit(REPO, fixtureFiles);
  const copy = await copyModel('tiny-qwen2-vl');
  try {
    await moveWeightsToExternalData(join(copy.dir, 'onnx', 'decoder_model_merged.onnx'), 'decoder_model_merged.onnx_data');
    hub.commit(EXTERNAL, await readFolder(copy.dir));
  } finally {
    await copy.cleanup();
  }
  cacheDir = await mkdtemp(join(tmpdir(), 'icot-onnx-hub-'));
});
afterAll(async () => {
  await hub?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('hub loading', () => {
  it('recognises hub ids', () => {
    expect(isHubId('onnx-community/Qwen2-VL-2B-Instruct')).toBe(true);
    expect(isHubId('./models/qwen')).toBe(false);
    expect(isHubId('/abs/path')).toBe(false);
    expect(isHubId('a/../b')).toBe(false);
  });

  it('downloads only the files the model needs into the hub cache layout, then loads', async () => {
    const progress: DownloadProgress[] = [];
    const model = await loadOnnxModel(REPO, { hub: { endpoint: hub.endpoint, cacheDir, onProgress: (p) => progress.push(p) } });
    expect(model.family.name).toBe('qwen2-vl');
    await model.dispose();
    const storage = join(cacheDir, 'models--test-org--tiny-qwen2-vl');
    const snapshot = join(storage, 'snapshots', commit);
    expect((await listFiles(snapshot)).sort()).toEqual([...NEEDED].sort());
    expect(await readFile(join(storage, 'refs', 'main'), 'utf8')).toBe(commit);
    const decoder = join(snapshot, 'onnx', 'decoder_model_merged.onnx');
    expect((await lstat(decoder)).isSymbolicLink()).toBe(true);
    expect(await readlink(decoder)).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(new Uint8Array(await readFile(decoder))).toEqual(fixtureFiles['onnx/decoder_model_merged.onnx']);
    expect(progress.filter((p) => p.done).map((p) => p.file).sort()).toEqual([...NEEDED].sort());
  });

  it('loads from the cache without touching the network when local files only', async () => {
    // The hub now has a newer commit whose config names a family this backend does not run: a
    // loader that ignored localFilesOnly would ask the hub (logged) and fail on that config.
    hub.commit(REPO, { ...fixtureFiles, 'config.json': JSON.stringify({ model_type: 'not-a-vlm' }) });
    try {
      hub.requests.length = 0;
      const model = await loadOnnxModel(REPO, { hub: { endpoint: hub.endpoint, cacheDir, localFilesOnly: true } });
      expect(model.family.name).toBe('qwen2-vl');
      await model.dispose();
      expect(hub.requests).toEqual([]);
      // online, the same call follows main to the newer commit
      await expect(loadOnnxModel(REPO, { hub: { endpoint: hub.endpoint, cacheDir } })).rejects.toThrow(/not-a-vlm/);
      expect(hub.requests.length).toBeGreaterThan(0);
    } finally {
      commit = hub.commit(REPO, fixtureFiles);
    }
  });

  it('falls back to the cache when the hub is unreachable', async () => {
    const dir = await downloadOnnxModel(REPO, { hub: { endpoint: hub.endpoint, cacheDir } });
    const model = await loadOnnxModel(REPO, { hub: { endpoint: 'http://127.0.0.1:9', cacheDir } });
    expect(model.family.name).toBe('qwen2-vl');
    await model.dispose();
    expect(dir).toBe(join(cacheDir, 'models--test-org--tiny-qwen2-vl', 'snapshots', commit));
  });

  it('names the missing weight variant and the ones the repository has', async () => {
    const error = await loadOnnxModel(REPO, { dtype: 'q4', hub: { endpoint: hub.endpoint, cacheDir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as Error).message).toMatch(/onnx\/vision_encoder_q4\.onnx/);
    expect((error as ModelFilesError).hint).toMatch(/onnx\/vision_encoder\.onnx/);
  });

  it('reports an unknown repository, an unreachable hub and an uncached model clearly', async () => {
    await expect(loadOnnxModel('test-org/missing', { hub: { endpoint: hub.endpoint, cacheDir } })).rejects.toThrow(ModelFilesError);
    const error = await loadOnnxModel('test-org/other', { hub: { endpoint: 'http://127.0.0.1:9', cacheDir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).hint).toBeTruthy();
    const offline = await loadOnnxModel('test-org/other', { hub: { cacheDir, localFilesOnly: true } }).catch((e: unknown) => e);
    expect((offline as Error).message).toMatch(/not in the hub cache/);
  });

  it('stops a download with AbortedError when cancelled', async () => {
    const other = await mkdtemp(join(tmpdir(), 'icot-onnx-hub-abort-'));
    try {
      hub.fail({ kind: 'stall-body', afterBytes: 1000, file: 'onnx/decoder_model_merged.onnx' });
      const controller = new AbortController();
      const error = await loadOnnxModel(REPO, {
        hub: { endpoint: hub.endpoint, cacheDir: other, signal: controller.signal, onProgress: (p) => p.file === 'onnx/decoder_model_merged.onnx' && setTimeout(() => controller.abort(), 200) },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortedError);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

/** Run `body` with icot's cache (scratch folders) in `dir`. */
async function withIcotCache<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env['ICOT_CACHE_DIR'];
  process.env['ICOT_CACHE_DIR'] = dir;
  try {
    return await body();
  } finally {
    process.env['ICOT_CACHE_DIR'] = saved;
  }
}

const otherFileSystem = async (): Promise<string | undefined> => {
  const shm = await stat('/dev/shm').catch(() => undefined);
  return shm?.isDirectory() && shm.dev !== (await stat(tmpdir())).dev ? '/dev/shm' : undefined;
};
const crossFileSystemRoot = await otherFileSystem();

describe('a decoder with external weights in a hub snapshot (symlinks into blobs/)', () => {
  it('is tapped in memory with its weights read through the snapshot, and reproduces the reference run', async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const dir = await downloadOnnxModel(EXTERNAL, { hub: { endpoint: hub.endpoint, cacheDir } });
    const data = join(dir, 'onnx', 'decoder_model_merged.onnx_data');
    expect((await lstat(data)).isSymbolicLink()).toBe(true);
    expect(relative(join(dir, 'onnx'), await realpath(data))).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\//);
    const icotCache = await mkdtemp(join(tmpdir(), 'icot-onnx-scratch-'));
    const model = await withIcotCache(icotCache, () => loadOnnxModel(dir));
    expect(await readdir(scratchDir(icotCache))).toEqual([]); // the hard links lived only while the session was made
    await rm(icotCache, { recursive: true, force: true });
    expect(model.capabilities.attention).toBe(true);
    const image = await model.encodeImage(await readImageFile(fixturePath('tiny-qwen2-vl', 'image.png')));
    const result = await generateICoT({
      model,
      prompt: { text: oracle.prompt_text, images: [image] },
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
      k: oracle.k,
      maxInsertions: oracle.max_insertions,
      maxNewTokens: oracle.max_new_tokens,
    });
    expect(result.tokens).toEqual(oracle.tokens);
    expect(result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    await model.dispose();
    // untapped, onnxruntime reads the graph through the snapshot link itself
    const plain = await loadOnnxModel(EXTERNAL, { tapAttention: false, hub: { cacheDir, localFilesOnly: true } });
    expect(plain.capabilities.attention).toBe(false);
    await plain.dispose();
  });
});

describe.skipIf(!crossFileSystemRoot)('with icot\'s cache on another file system than the hub cache (needs /dev/shm on its own file system)', () => {
  it('hands the snapshot\'s weights to onnxruntime in memory', async () => {
    const dir = await downloadOnnxModel(EXTERNAL, { hub: { endpoint: hub.endpoint, cacheDir } });
    const icotCache = await mkdtemp(join(crossFileSystemRoot!, 'icot-onnx-scratch-'));
    try {
      const model = await withIcotCache(icotCache, () => loadOnnxModel(dir));
      expect(model.capabilities.attention).toBe(true);
      const image = await model.encodeImage(await readImageFile(fixturePath('tiny-qwen2-vl', 'image.png')));
      const oracle = loadOracle('tiny-qwen2-vl');
      const result = await generateICoT({
        model,
        prompt: { text: oracle.prompt_text, images: [image] },
        selector: createAdsSelector(),
        decoder: createInputInsertionDecoder(),
        trigger: createSignalTrigger({ signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every }),
        k: oracle.k,
        maxInsertions: oracle.max_insertions,
        maxNewTokens: oracle.max_new_tokens,
      });
      expect(result.tokens).toEqual(oracle.tokens);
      await model.dispose();
    } finally {
      await rm(icotCache, { recursive: true, force: true });
    }
  });
});
