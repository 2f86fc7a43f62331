import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { writeTinyChameleon, type TinyChameleonInfo } from '@icot/testing';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import { loadTransformersModel } from '../src/index.js';

// transformers.js runs no Chameleon-class (discrete image token) model. A Chameleon folder has no
// vision_encoder / embed_tokens graphs, so checking files first would blame those; the backend
// names the family and the ONNX backend instead, before it looks for any file.

const REPO = 'test-org/tiny-chameleon';
let root: string;
let chameleon: TinyChameleonInfo;
let hub: TestHub;

async function readFolder(dir: string, prefix = ''): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(out, await readFolder(dir, path));
    else out[path] = new Uint8Array(await readFile(join(dir, path)));
  }
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-tjs-family-'));
  chameleon = await writeTinyChameleon(join(root, 'chameleon'), { seed: 41 });
  hub = await startTestHub();
  hub.commit(REPO, await readFolder(chameleon.dir));
});
afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

function expectUnsupportedFamily(error: unknown, where: string): void {
  expect(error).toBeInstanceOf(OptionError);
  const { message, hint } = error as OptionError;
  expect(message).toContain(`${where} is a Chameleon-class model (model_type 'chameleon'), a family the transformers.js backend does not run`);
  expect(message).not.toMatch(/missing|vision_encoder|embed_tokens/);
  expect(hint).toMatch(/--backend onnx/);
  expect(hint).toMatch(/loadOnnxModel/);
}

describe('transformers.js backend on a Chameleon-class model', () => {
  it('names the family and the ONNX backend for a local folder, not the graphs it lacks', async () => {
    const error = await loadTransformersModel(chameleon.dir, { tappedCacheDir: join(root, 'icot') }).catch((e: unknown) => e);
    expectUnsupportedFamily(error, chameleon.dir);
  });

  it('reads a hub repository\'s config.json first, and downloads nothing else', async () => {
    const cacheDir = join(root, 'hub');
    const fetched: string[] = [];
    hub.requests.length = 0;
    const error = await loadTransformersModel(REPO, { endpoint: hub.endpoint, cacheDir, tappedCacheDir: join(root, 'icot'), onProgress: (p) => p.done && fetched.push(p.file) }).catch(
      (e: unknown) => e,
    );
    expectUnsupportedFamily(error, REPO);
    expect(fetched).toEqual(['config.json']);
    expect(hub.requests.some((r) => r.url.includes('.onnx'))).toBe(false);
  });
});
