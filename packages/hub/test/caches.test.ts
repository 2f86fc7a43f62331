import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '@icot/testing/hub';
import {
  createScratchFolder,
  findTappedCopy,
  HubRepository,
  hubCacheDir,
  icotCacheDir,
  listTappedCopies,
  removeCachedRepo,
  removeTappedCopies,
  scanHubCache,
  scratchDir,
  storeTappedCopy,
  sweepScratchFolders,
  sweepTappedCopies,
  TransferRate,
} from '../src/index.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'icot-caches-test-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('cache locations', () => {
  it('follow the huggingface_hub and XDG environment variables', () => {
    const saved = { ...process.env };
    try {
      for (const name of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME', 'ICOT_CACHE_DIR']) delete process.env[name];
      process.env['XDG_CACHE_HOME'] = '/x';
      expect(hubCacheDir()).toBe('/x/huggingface/hub');
      expect(icotCacheDir()).toBe('/x/icot');
      process.env['HF_HOME'] = '/h';
      expect(hubCacheDir()).toBe('/h/hub');
      process.env['HF_HUB_CACHE'] = '/c';
      expect(hubCacheDir()).toBe('/c');
      process.env['ICOT_CACHE_DIR'] = '/i';
      expect(icotCacheDir()).toBe('/i');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});

describe('the hub cache listing', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
  });
  afterAll(() => hub.close());

  it('lists repositories, revisions with their refs, sizes and interrupted downloads, and removes a repository', async () => {
    const weights = new Uint8Array(randomBytes(5000));
    const first = hub.commit('org/a', { 'config.json': '{}', 'onnx/m.onnx': weights });
    hub.tag('org/a', 'v1', first);
    const second = hub.commit('org/a', { 'config.json': '{"v":2}', 'onnx/m.onnx': weights });
    hub.commit('org/b', { 'config.json': '{}' });
    const options = { endpoint: hub.endpoint, cacheDir: root };
    await new HubRepository('org/a', { ...options, revision: 'v1' }).fetchFiles(['config.json', 'onnx/m.onnx']);
    await new HubRepository('org/a', options).fetchFiles(['config.json', 'onnx/m.onnx']);
    await new HubRepository('org/b', options).fetchFile('config.json');
    await writeFile(join(root, 'models--org--b', 'blobs', 'abc.incomplete'), new Uint8Array(10));
    await mkdir(join(root, 'datasets--org--d'), { recursive: true });
    const repos = await scanHubCache(root);
    expect(repos.map((r) => r.repoId)).toEqual(['org/a', 'org/b']);
    const a = repos[0]!;
    expect(a.size).toBe(5000 + 2 + 7); // the weights are stored once
    expect(a.revisions.map((r) => [r.commit, [...r.refs].sort(), r.files, r.size]).sort()).toEqual(
      [
        [first, ['v1'], 2, 5002],
        [second, ['main'], 2, 5007],
      ].sort(),
    );
    expect(repos[1]!.incompleteBytes).toBe(10);
    expect(await removeCachedRepo('org/a', root)).toBe(true);
    expect((await scanHubCache(root)).map((r) => r.repoId)).toEqual(['org/b']);
    expect(await removeCachedRepo('org/a', root)).toBe(false);
    expect(await scanHubCache(join(root, 'missing'))).toEqual([]);
  });
});

describe('tapped copies', () => {
  const source = { source: '/models/x/onnx/decoder.onnx', contentId: 'sha256:00', settings: ['icot-tap-4', 'all'] };

  it('are stored once per key, found again and listed with what they were made from', async () => {
    expect(await findTappedCopy('k1', root)).toBeUndefined();
    const path = await storeTappedCopy('k1', new Uint8Array([1, 2, 3]), source, root);
    expect(new Uint8Array(await readFile(path))).toEqual(new Uint8Array([1, 2, 3]));
    expect(await findTappedCopy('k1', root)).toBe(path);
    expect(await storeTappedCopy('k1', new Uint8Array([1, 2, 3]), source, root)).toBe(path);
    const [copy] = await listTappedCopies(root);
    expect(copy).toMatchObject({ key: 'k1', made: source });
    expect(copy!.size).toBeGreaterThan(3);
    expect(await readdir(scratchDir(root))).toEqual([]); // scratch folders are gone
    expect(await removeTappedCopies(root)).toBe(1);
    expect(await listTappedCopies(root)).toEqual([]);
  });

  it('unused for too long, or left by an older icot, are swept; used ones stay', async () => {
    await storeTappedCopy('old', new Uint8Array(4), source, root);
    await storeTappedCopy('fresh', new Uint8Array(4), source, root);
    const longAgo = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    await utimes(join(root, 'tapped', 'old', 'meta.json'), longAgo, longAgo);
    // an older icot's copy: links into a model folder that is gone, no meta.json
    await mkdir(join(root, 'tapped', '209eb9a122bbb47ceb9213d9', 'onnx'), { recursive: true });
    await symlink('/nonexistent/config.json', join(root, 'tapped', '209eb9a122bbb47ceb9213d9', 'config.json'));
    expect(await sweepTappedCopies(root)).toBe(2);
    expect((await listTappedCopies(root)).map((c) => c.key)).toEqual(['fresh']);
  });
});

describe('scratch folders', () => {
  it('of processes that are gone are swept; this process keeps its own', async () => {
    const mine = await createScratchFolder(root);
    await mkdir(join(scratchDir(root), '999999999-dead'), { recursive: true });
    expect(await sweepScratchFolders(root)).toBe(1);
    expect((await stat(mine.dir)).isDirectory()).toBe(true);
    await mine.remove();
    expect(await readdir(scratchDir(root))).toEqual([]);
  });
});

describe('transfer rate', () => {
  it('is the byte rate over the recent window', () => {
    let now = 0;
    const rate = new TransferRate(5000, () => now);
    expect(rate.update(0)).toBe(0);
    now = 1000;
    expect(rate.update(1000)).toBe(1000);
    now = 2000;
    expect(rate.update(5000)).toBe(2500);
    now = 9000; // the first samples fall out of the window
    expect(rate.update(12_000)).toBe(1000);
  });
});
