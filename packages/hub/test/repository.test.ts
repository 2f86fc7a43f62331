import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, ModelFilesError, NetworkError } from '@icot/core';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import { HubRepository, repoFolderName, type DownloadProgress } from '../src/index.js';

const REPO = 'test-org/tiny';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const gitOid = (bytes: Uint8Array): string => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

const weights = new Uint8Array(randomBytes(300_000));
const config = '{"model_type":"tiny"}';
let hub: TestHub;
let commit: string;
let cacheDir: string;

beforeAll(async () => {
  hub = await startTestHub();
  commit = hub.commit(REPO, { 'config.json': config, 'onnx/model.onnx': weights, 'README.md': '# tiny' });
});
afterAll(() => hub.close());
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'icot-hub-test-'));
  hub.requests.length = 0;
});
afterEach(() => rm(cacheDir, { recursive: true, force: true }));

const storage = (): string => join(cacheDir, repoFolderName(REPO));
const repo = (options: ConstructorParameters<typeof HubRepository>[1] = {}): HubRepository => new HubRepository(REPO, { endpoint: hub.endpoint, cacheDir, ...options });
const fileRequests = (): string[] => hub.requests.filter((r) => r.method === 'GET' && !r.url.startsWith('/api/')).map((r) => `${r.server} ${r.url.split('?')[0]}${r.range ? ` ${r.range}` : ''}`);

describe('resolving a revision', () => {
  it('resolves a branch to its commit through the model info API and records it in refs/', async () => {
    const resolved = await repo().resolve();
    expect(resolved.commit).toBe(commit);
    expect(resolved.files).toEqual(['README.md', 'config.json', 'onnx/model.onnx']);
    expect(resolved.snapshotDir).toBe(join(storage(), 'snapshots', commit));
    expect(await readFile(join(storage(), 'refs', 'main'), 'utf8')).toBe(commit);
  });

  it('follows a branch that moved, and a tag or commit pins the old files', async () => {
    const other = 'test-org/moving';
    const first = hub.commit(other, { 'config.json': '{"v":1}' });
    hub.tag(other, 'v1', first);
    const second = hub.commit(other, { 'config.json': '{"v":2}' });
    const latest = new HubRepository(other, { endpoint: hub.endpoint, cacheDir });
    expect(await readFile(await latest.fetchFile('config.json'), 'utf8')).toBe('{"v":2}');
    expect((await latest.resolve()).commit).toBe(second);
    const pinned = new HubRepository(other, { endpoint: hub.endpoint, cacheDir, revision: 'v1' });
    expect(await readFile(await pinned.fetchFile('config.json'), 'utf8')).toBe('{"v":1}');
    expect(await readFile(join(cacheDir, repoFolderName(other), 'refs', 'v1'), 'utf8')).toBe(first);
    const byCommit = new HubRepository(other, { endpoint: hub.endpoint, cacheDir, revision: first });
    expect((await byCommit.resolve()).commit).toBe(first);
  });

  it('names an unknown repository, revision and file', async () => {
    await expect(new HubRepository('test-org/missing', { endpoint: hub.endpoint, cacheDir }).resolve()).rejects.toThrow(ModelFilesError);
    await expect(repo({ revision: 'no-such-branch' }).resolve()).rejects.toThrow(/no-such-branch/);
    await expect(repo().fetchFile('onnx/other.onnx')).rejects.toThrow(/has no onnx\/other\.onnx/);
  });

  it('refuses ids, revisions and file paths that would leave the cache folder', async () => {
    expect(() => new HubRepository('org/../../x', { cacheDir })).toThrow(/not a hub repository id/);
    expect(() => new HubRepository(REPO, { cacheDir, revision: '../../etc' })).toThrow(/not a revision/);
    await expect(repo().fetchFile('onnx/model.onnx_data/../../../../escape')).rejects.toThrow(/not a file path inside/);
    expect(new HubRepository(REPO, { cacheDir, revision: 'refs/pr/1' }).revision).toBe('refs/pr/1');
  });

  it('sends the token to the hub only, never to the CDN', async () => {
    const gated = 'test-org/gated';
    hub.commit(gated, { 'config.json': config, 'model.onnx': weights });
    hub.protect(gated, 'hf_secret');
    const error = await new HubRepository(gated, { endpoint: hub.endpoint, cacheDir }).resolve().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFilesError);
    expect((error as ModelFilesError).hint).toMatch(/HF_TOKEN/);
    hub.requests.length = 0;
    const allowed = new HubRepository(gated, { endpoint: hub.endpoint, cacheDir, token: 'hf_secret' });
    await allowed.fetchFile('model.onnx');
    expect(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret')).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.authorization)).toEqual([undefined]);
  });

  it('follows the relative redirects of a renamed repository', async () => {
    hub.rename('old-org/tiny', REPO);
    const renamed = new HubRepository('old-org/tiny', { endpoint: hub.endpoint, cacheDir });
    const meta = await renamed.metadata('config.json', commit);
    expect(meta.etag).toBe(gitOid(new TextEncoder().encode(config)));
  });
});

describe('the huggingface_hub cache layout', () => {
  it('stores blobs under their etag (git blob id, or sha256 for LFS files) and links snapshots to them relatively', async () => {
    const hubRepo = repo();
    const modelPath = await hubRepo.fetchFile('onnx/model.onnx');
    const configPath = await hubRepo.fetchFile('config.json');
    expect(modelPath).toBe(join(storage(), 'snapshots', commit, 'onnx', 'model.onnx'));
    expect(await readlink(modelPath)).toBe(`../../../blobs/${sha256(weights)}`);
    expect(await readlink(configPath)).toBe(`../../blobs/${gitOid(new TextEncoder().encode(config))}`);
    expect(new Uint8Array(await readFile(modelPath))).toEqual(weights);
    expect((await lstat(join(storage(), 'blobs', sha256(weights)))).isFile()).toBe(true);
    // the LFS file came from the CDN the hub redirected to
    expect(fileRequests()).toEqual([`cdn /lfs/${sha256(weights)}`, `hub /${REPO}/resolve/${commit}/config.json`]);
  });

  it('reuses a cache that the Python rules laid out, without a file request', async () => {
    // What huggingface_hub leaves after hf_hub_download(REPO, 'config.json') and ('onnx/model.onnx').
    const configBytes = new TextEncoder().encode(config);
    await mkdir(join(storage(), 'blobs'), { recursive: true });
    await mkdir(join(storage(), 'refs'), { recursive: true });
    await mkdir(join(storage(), 'snapshots', commit, 'onnx'), { recursive: true });
    await writeFile(join(storage(), 'refs', 'main'), commit);
    await writeFile(join(storage(), 'blobs', gitOid(configBytes)), configBytes);
    await writeFile(join(storage(), 'blobs', sha256(weights)), weights);
    await symlink(`../../blobs/${gitOid(configBytes)}`, join(storage(), 'snapshots', commit, 'config.json'));
    await symlink(`../../../blobs/${sha256(weights)}`, join(storage(), 'snapshots', commit, 'onnx', 'model.onnx'));
    const progress: DownloadProgress[] = [];
    const hubRepo = repo({ onProgress: (p) => progress.push(p) });
    await hubRepo.fetchFiles(['config.json', 'onnx/model.onnx']);
    expect(fileRequests()).toEqual([]);
    expect(progress.map((p) => [p.file, p.cached, p.loaded])).toEqual([
      ['config.json', true, configBytes.length],
      ['onnx/model.onnx', true, weights.length],
    ]);
  });

  it('links a blob another revision already downloaded instead of downloading it again', async () => {
    await repo().fetchFile('onnx/model.onnx');
    const next = hub.commit('test-org/tiny-copy', { 'onnx/model.onnx': weights });
    const copy = new HubRepository('test-org/tiny-copy', { endpoint: hub.endpoint, cacheDir });
    hub.requests.length = 0;
    // Same content in the same repository folder is shared; a different repository has its own blobs.
    await copy.fetchFile('onnx/model.onnx');
    expect(fileRequests()).toEqual([`cdn /lfs/${sha256(weights)}`]);
    const second = hub.commit(REPO, { 'config.json': '{"model_type":"tiny","v":2}', 'onnx/model.onnx': weights });
    const moved = repo();
    hub.requests.length = 0;
    const path = await moved.fetchFile('onnx/model.onnx');
    expect(path).toBe(join(storage(), 'snapshots', second, 'onnx', 'model.onnx'));
    expect(fileRequests()).toEqual([]);
    expect(next).not.toBe(second);
    commit = hub.commit(REPO, { 'config.json': config, 'onnx/model.onnx': weights, 'README.md': '# tiny' }); // restore main for other tests
  });
});

describe('network use off', () => {
  // A newer commit on the server with other bytes: a client that ignored localFilesOnly would
  // fetch it (and its requests would be logged).
  it('resolves through refs/ and reads the cached snapshot without a single request', async () => {
    await repo().fetchFiles(['config.json', 'onnx/model.onnx']);
    const newer = hub.commit(REPO, { 'config.json': '{"model_type":"newer"}', 'onnx/model.onnx': new Uint8Array(randomBytes(5000)) });
    try {
      hub.requests.length = 0;
      const offline = repo({ localFilesOnly: true });
      const resolved = await offline.resolve();
      expect(resolved.commit).toBe(commit);
      expect(resolved.fromCache).toBe('offline');
      expect(await readFile(await offline.fetchFile('config.json'), 'utf8')).toBe(config);
      expect(hub.requests).toEqual([]);
      await expect(offline.fetchFile('README.md')).rejects.toThrow(/not in the hub cache .* network use is off/);
      // HF_HUB_OFFLINE=1 does the same, as in huggingface_hub.
      process.env['HF_HUB_OFFLINE'] = '1';
      try {
        expect((await repo().resolve()).commit).toBe(commit);
      } finally {
        delete process.env['HF_HUB_OFFLINE'];
      }
      expect(hub.requests).toEqual([]);
      // Online, the branch resolves to the newer commit.
      expect((await repo().resolve()).commit).toBe(newer);
    } finally {
      commit = hub.commit(REPO, { 'config.json': config, 'onnx/model.onnx': weights, 'README.md': '# tiny' });
    }
  });

  it('falls back to refs/ when the hub cannot be reached, and says what is missing', async () => {
    await repo().fetchFile('config.json');
    const unreachable = new HubRepository(REPO, { endpoint: 'http://127.0.0.1:9', cacheDir });
    const resolved = await unreachable.resolve();
    expect(resolved).toMatchObject({ commit, fromCache: 'unreachable' });
    await expect(unreachable.fetchFile('onnx/model.onnx')).rejects.toThrow(/cannot be reached/);
    const never = await new HubRepository('test-org/never-cached', { endpoint: 'http://127.0.0.1:9', cacheDir }).resolve().catch((e: unknown) => e);
    expect(never).toBeInstanceOf(NetworkError);
    expect((never as NetworkError).message).toMatch(/cannot reach 127\.0\.0\.1:9/);
    const offline = await new HubRepository('test-org/never-cached', { cacheDir, localFilesOnly: true }).resolve().catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(ModelFilesError);
    expect((offline as Error).message).toMatch(/not in the hub cache/);
  });
});

describe('downloads', () => {
  const blob = (): string => join(storage(), 'blobs', sha256(weights));

  it('resume from the bytes an interrupted download left, with a Range request', async () => {
    await mkdir(join(storage(), 'blobs'), { recursive: true });
    await writeFile(`${blob()}.incomplete`, weights.subarray(0, 123_456));
    const progress: DownloadProgress[] = [];
    const path = await repo({ onProgress: (p) => progress.push(p) }).fetchFile('onnx/model.onnx');
    expect(new Uint8Array(await readFile(path))).toEqual(weights);
    expect(fileRequests()).toEqual([`cdn /lfs/${sha256(weights)} bytes=123456-`]);
    expect(progress[0]).toMatchObject({ loaded: 123_456, resumedFrom: 123_456, total: weights.length, done: false });
    expect(progress.at(-1)).toMatchObject({ loaded: weights.length, done: true, cached: false });
    await expect(stat(`${blob()}.incomplete`)).rejects.toThrow();
  });

  it('retry a dropped connection from the new offset', async () => {
    hub.fail({ kind: 'drop', afterBytes: 100_000, file: 'onnx/model.onnx' });
    const path = await repo().fetchFile('onnx/model.onnx');
    expect(new Uint8Array(await readFile(path))).toEqual(weights);
    const gets = fileRequests();
    expect(gets).toHaveLength(2);
    expect(gets[1]).toMatch(/ bytes=\d+-$/);
    expect(Number(/bytes=(\d+)-/.exec(gets[1]!)![1])).toBeGreaterThanOrEqual(100_000);
  });

  it('fail with a NetworkError when the server stops answering, keeping the bytes for the next try', async () => {
    hub.fail({ kind: 'stall-body', afterBytes: 50_000, file: 'onnx/model.onnx' });
    const error = await repo({ stallTimeoutMs: 300, retries: 0 }).fetchFile('onnx/model.onnx').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).message).toMatch(/sent nothing for 0\.3 s/);
    expect((error as NetworkError).hint).toMatch(/HF_HUB_DOWNLOAD_TIMEOUT/);
    const kept = (await stat(`${blob()}.incomplete`)).size;
    expect(kept).toBe(50_000);
    hub.requests.length = 0;
    await repo().fetchFile('onnx/model.onnx');
    expect(fileRequests()).toEqual([`cdn /lfs/${sha256(weights)} bytes=50000-`]);
  });

  it('fail when a server never sends the headers', async () => {
    hub.fail({ kind: 'stall-headers', file: 'config.json' });
    const error = await repo({ stallTimeoutMs: 200 }).fetchFile('config.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/sent nothing/);
  });

  it('stop with AbortedError when cancelled, keeping the partial file', async () => {
    hub.fail({ kind: 'stall-body', afterBytes: 70_000, file: 'onnx/model.onnx' });
    const controller = new AbortController();
    const error = await repo({
      signal: controller.signal,
      stallTimeoutMs: 60_000,
      // cancel once the first bytes came (then the server stalls: only the cancel can end it)
      onProgress: () => void setTimeout(() => controller.abort(), 300),
    })
      .fetchFile('onnx/model.onnx')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((await stat(`${blob()}.incomplete`)).size).toBe(70_000);
    // cancelling before the start does not touch the network
    hub.requests.length = 0;
    await expect(repo({ signal: AbortSignal.abort() }).resolve()).rejects.toThrow(AbortedError);
    expect(hub.requests).toEqual([]);
  });

  it('check LFS files against their sha256 and start over when the partial file was corrupt', async () => {
    await mkdir(join(storage(), 'blobs'), { recursive: true });
    await writeFile(`${blob()}.incomplete`, new Uint8Array(1000).fill(7));
    const error = await repo().fetchFile('onnx/model.onnx').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/sha256/);
    await expect(stat(`${blob()}.incomplete`)).rejects.toThrow();
    const path = await repo().fetchFile('onnx/model.onnx');
    expect(new Uint8Array(await readFile(path))).toEqual(weights);
  });

  it('report bytes, total, rate and time left', async () => {
    const progress: DownloadProgress[] = [];
    await repo({ onProgress: (p) => progress.push(p) }).fetchFile('onnx/model.onnx');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.repo === REPO && p.file === 'onnx/model.onnx' && p.total === weights.length)).toBe(true);
    const loaded = progress.map((p) => p.loaded);
    expect([...loaded].sort((a, b) => a - b)).toEqual(loaded);
    expect(progress.at(-1)).toMatchObject({ loaded: weights.length, done: true, etaSeconds: 0 });
    expect(progress.filter((p) => p.done)).toHaveLength(1);
    expect(progress.at(-1)!.rate).toBeGreaterThan(0);
  });
});
