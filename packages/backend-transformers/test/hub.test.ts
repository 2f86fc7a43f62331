import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '@huggingface/transformers';
import { fixturePath } from '@icot/testing';
import { loadTransformersModel } from '../src/index.js';

// A local stand-in for the Hugging Face hub (transformers.js reads env.remoteHost).
const REPO = 'test-org/tiny-qwen2-vl';
let server: Server;
let root: string;
const requests: string[] = [];
const savedHost = env.remoteHost;

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p));
  }
  return out;
}

beforeAll(async () => {
  const source = fixturePath('tiny-qwen2-vl');
  const files = await listFiles(source);
  server = createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const prefix = `/${REPO}/resolve/main/`;
    const file = req.url?.startsWith(prefix) ? decodeURIComponent(req.url.slice(prefix.length).split('?')[0]!) : undefined;
    if (file && files.includes(file)) {
      const body = await readFile(join(source, file));
      res.setHeader('content-length', body.length);
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  env.remoteHost = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  root = await mkdtemp(join(tmpdir(), 'icot-tjs-hub-'));
});
afterAll(async () => {
  env.remoteHost = savedHost;
  server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('transformers.js hub loading', () => {
  it('downloads into the transformers.js cache once, then loads offline from it', async () => {
    const cacheDir = join(root, 'hf-cache');
    const model = await loadTransformersModel(REPO, { cacheDir, tappedCacheDir: join(root, 'tapped') });
    expect(model.capabilities.attention).toBe(true);
    await model.dispose();
    expect(requests.some((r) => r.includes('decoder_model_merged.onnx'))).toBe(true);
    const cached = await listFiles(join(cacheDir, REPO));
    expect(cached).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/decoder_model_merged.onnx']));
    const before = requests.length;
    const again = await loadTransformersModel(REPO, { cacheDir, localFilesOnly: true, tappedCacheDir: join(root, 'tapped') });
    expect(requests.length).toBe(before);
    await again.dispose();
  });
});
