import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IcotError, ModelFilesError } from '@icot/core';
import { fixturePath } from '@icot/testing';
import { cachedModelDir, isHubId, loadOnnxModel } from '../src/index.js';

// A local stand-in for the Hugging Face hub, serving the fixture folder as `test-org/tiny-qwen2-vl`.
const REPO = 'test-org/tiny-qwen2-vl';
let server: Server;
let endpoint: string;
let cacheDir: string;
const requests: string[] = [];

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
  const root = fixturePath('tiny-qwen2-vl');
  const files = await listFiles(root);
  server = createServer(async (req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/api/models/${REPO}/revision/main`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: REPO, sha: 'abc', siblings: files.map((rfilename) => ({ rfilename })) }));
      return;
    }
    const prefix = `/${REPO}/resolve/main/`;
    const file = req.url?.startsWith(prefix) ? decodeURIComponent(req.url.slice(prefix.length)) : undefined;
    if (file && files.includes(file)) {
      const body = await readFile(join(root, file));
      res.setHeader('content-length', body.length);
      res.end(body);
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  cacheDir = await mkdtemp(join(tmpdir(), 'icot-hub-'));
});
afterAll(async () => {
  server?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('hub loading', () => {
  it('recognises hub ids', () => {
    expect(isHubId('onnx-community/Qwen2-VL-2B-Instruct')).toBe(true);
    expect(isHubId('./models/qwen')).toBe(false);
    expect(isHubId('/abs/path')).toBe(false);
    expect(isHubId('a/../b')).toBe(false);
  });

  it('downloads only the files the model needs into the cache, then loads', async () => {
    const progress: string[] = [];
    const model = await loadOnnxModel(REPO, { hub: { endpoint, cacheDir, onProgress: (p) => progress.push(p.file) } });
    expect(model.family.name).toBe('qwen2-vl');
    const dir = cachedModelDir(REPO, { cacheDir });
    const cached = (await listFiles(dir)).sort();
    expect(cached).toEqual(
      ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'].sort(),
    );
    expect((await stat(join(dir, 'onnx/decoder_model_merged.onnx'))).size).toBe((await stat(fixturePath('tiny-qwen2-vl', 'onnx/decoder_model_merged.onnx'))).size);
    expect(progress).toContain('onnx/decoder_model_merged.onnx');
    await model.dispose();
  });

  it('loads from the cache without touching the network when local files only', async () => {
    const before = requests.length;
    const model = await loadOnnxModel(REPO, { hub: { endpoint: 'http://127.0.0.1:9', cacheDir, localFilesOnly: true } });
    expect(requests.length).toBe(before);
    await model.dispose();
  });

  it('falls back to the cache when the hub is unreachable', async () => {
    const model = await loadOnnxModel(REPO, { hub: { endpoint: 'http://127.0.0.1:9', cacheDir } });
    await model.dispose();
  });

  it('names the missing weight variant and the ones the repository has', async () => {
    const error = await loadOnnxModel(REPO, { dtype: 'q4', hub: { endpoint, cacheDir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as Error).message).toMatch(/onnx\/vision_encoder_q4\.onnx/);
    expect((error as ModelFilesError).hint).toMatch(/onnx\/vision_encoder\.onnx/);
  });

  it('reports an unknown repository and an unreachable hub clearly', async () => {
    await expect(loadOnnxModel('test-org/missing', { hub: { endpoint, cacheDir } })).rejects.toThrow(ModelFilesError);
    const error = await loadOnnxModel('test-org/other', { hub: { endpoint: 'http://127.0.0.1:9', cacheDir } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IcotError);
    expect((error as IcotError).code).toBe('network');
    const offline = await loadOnnxModel('test-org/other', { hub: { cacheDir, localFilesOnly: true } }).catch((e: unknown) => e);
    expect((offline as Error).message).toMatch(/not in the cache/);
  });
});
