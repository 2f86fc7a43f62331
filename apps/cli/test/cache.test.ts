import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTappedCopies, storeTappedCopy } from '@icot/hub';
import { fixturePath, loadOracle } from '@icot/testing';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import { main } from '../src/main.js';

// `icot cache` and `icot run` on hub ids, against a local test hub; every cache is temporary.
const REPO = 'test-org/tiny-qwen2-vl';
const oracle = loadOracle('tiny-qwen2-vl');
let hub: TestHub;
let root: string;
let promptFile: string;
const saved = { ...process.env };

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function icot(args: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, interactive: false, ...(signal ? { signal } : {}) });
  return { code, stdout: out.text(), stderr: err.text() };
}

async function readFolder(dir: string, prefix = ''): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) Object.assign(files, await readFolder(dir, path));
    else files[path] = new Uint8Array(await readFile(join(dir, path)));
  }
  return files;
}

const runArgs = (...extra: string[]) => [
  'run', '--model', REPO, '--image', fixturePath('tiny-qwen2-vl', 'image.png'), '--raw-prompt-file', promptFile,
  '--signal-token-ids', oracle.signal_token_ids.join(','), '--every', String(oracle.every), '--max-insertions', String(oracle.max_insertions),
  '--k', String(oracle.k), '--max-new-tokens', String(oracle.max_new_tokens), '--greedy', '--json', ...extra,
];

beforeAll(async () => {
  hub = await startTestHub();
  hub.commit(REPO, await readFolder(fixturePath('tiny-qwen2-vl')));
  root = await mkdtemp(join(tmpdir(), 'icot-cli-cache-'));
  promptFile = join(root, 'prompt.txt');
  await writeFile(promptFile, oracle.prompt_text);
  // the run's child process inherits these
  Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(root, 'hub'), ICOT_CACHE_DIR: join(root, 'icot') });
});
afterAll(async () => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

describe('icot run with a hub id', () => {
  it('downloads into the hub cache (progress on stderr, never stdout) and reproduces the reference run', async () => {
    const { code, stdout, stderr } = await icot(runArgs());
    expect(code).toBe(0);
    expect(JSON.parse(stdout).tokens).toEqual(oracle.tokens);
    expect(stderr).toMatch(/downloading onnx\/decoder_model_merged\.onnx/);
    expect(await readdir(join(root, 'hub'))).toContain('models--test-org--tiny-qwen2-vl');
  });

  it('--offline runs from that cache on both backends without a request', async () => {
    hub.requests.length = 0;
    const onnx = await icot(runArgs('--offline'));
    expect(onnx.code).toBe(0);
    expect(JSON.parse(onnx.stdout).tokens).toEqual(oracle.tokens);
    const transformers = await icot(runArgs('--offline', '--backend', 'transformers'));
    expect(transformers.code).toBe(0);
    expect(JSON.parse(transformers.stdout).tokens).toEqual(oracle.tokens);
    expect(hub.requests).toEqual([]);
    expect(await listTappedCopies(join(root, 'icot'))).toHaveLength(1);
  });

  it('a stalled server fails with a network error naming the wait, exit 2', async () => {
    const cacheDir = join(root, 'stall');
    hub.fail({ kind: 'stall-headers', file: 'onnx/decoder_model_merged.onnx' });
    process.env['HF_HUB_DOWNLOAD_TIMEOUT'] = '1';
    try {
      const { code, stderr } = await icot(runArgs('--cache-dir', cacheDir));
      expect(code).toBe(2);
      expect(stderr).toMatch(/error: Downloading onnx\/decoder_model_merged\.onnx of test-org\/tiny-qwen2-vl: .* sent nothing for 1 s/);
      expect(stderr).toMatch(/hint: .*HF_HUB_DOWNLOAD_TIMEOUT/);
    } finally {
      delete process.env['HF_HUB_DOWNLOAD_TIMEOUT'];
    }
  });

  it('a download cancelled midway is exit 130, not a network error', async () => {
    const cacheDir = join(root, 'cancel');
    hub.fail({ kind: 'stall-body', afterBytes: 10_000, file: 'onnx/decoder_model_merged.onnx' });
    hub.requests.length = 0;
    const controller = new AbortController();
    const poll = setInterval(() => {
      if (hub.requests.some((r) => r.server === 'cdn' && r.url.includes('decoder_model_merged'))) setTimeout(() => controller.abort(), 300);
    }, 50);
    try {
      const { code, stderr } = await icot(runArgs('--cache-dir', cacheDir), controller.signal);
      expect(code).toBe(130);
      expect(stderr).not.toMatch(/error: .*(network|sent nothing|cannot reach)/i);
    } finally {
      clearInterval(poll);
    }
  });
});

describe('icot cache', () => {
  it('path prints the downloads and tapped-copies folders', async () => {
    const both = await icot(['cache', 'path']);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`downloads  ${join(root, 'hub')}\n`);
    expect(both.stdout).toContain(`tapped     ${join(root, 'icot', 'tapped')}\n`);
    expect((await icot(['cache', 'path', 'downloads', '--cache-dir', '/some/where'])).stdout).toBe('/some/where\n');
    expect((await icot(['cache', 'path', 'tapped'])).stdout).toBe(`${join(root, 'icot', 'tapped')}\n`);
    expect((await icot(['cache', 'path', 'elsewhere'])).code).toBe(2);
  });

  it('list shows downloaded models with their revisions and sizes, and tapped copies', async () => {
    const { code, stdout } = await icot(['cache', 'list']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Downloads in .*: 1 model, /);
    expect(stdout).toMatch(/\n {2}test-org\/tiny-qwen2-vl {2}\d/);
    expect(stdout).toMatch(/\n {4}[0-9a-f]{12} {2}main {2}8 files, /);
    expect(stdout).toMatch(/\nTapped copies in .*: 1, /);
    const json = JSON.parse((await icot(['cache', 'list', '--json'])).stdout);
    expect(json.downloads.repos.map((r: { repoId: string }) => r.repoId)).toEqual([REPO]);
    expect(json.downloads.repos[0].revisions[0].refs).toEqual(['main']);
    expect(json.tapped.copies).toHaveLength(1);
  });

  it('clear deletes what it is told to, and nothing when told nothing', async () => {
    const none = await icot(['cache', 'clear']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/hint: Name models/);
    expect((await icot(['cache', 'clear', 'not a model'])).code).toBe(2);
    await storeTappedCopy('extra', new Uint8Array(8), { source: 's', contentId: 'sha256:00', settings: [] }, join(root, 'icot'));
    const tapped = await icot(['cache', 'clear', '--tapped']);
    expect(tapped.code).toBe(0);
    expect(tapped.stderr).toMatch(/deleted 2 tapped copies/);
    expect(await listTappedCopies(join(root, 'icot'))).toEqual([]);
    const model = await icot(['cache', 'clear', REPO]);
    expect(model.stderr).toMatch(/deleted test-org\/tiny-qwen2-vl/);
    expect((await icot(['cache', 'list'])).stdout).toMatch(/: 0 models/);
    expect((await icot(['cache', 'clear', REPO])).stderr).toMatch(/was not in/);
    expect((await icot(['help', 'cache'])).stdout).toMatch(/icot cache clear <org\/name>/);
  });
});
