import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, loadOracle } from '@icot/testing';
import { FileHasher } from '../src/index.js';
import { executeRun } from '../src/in-process.js';

const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icot-record-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('run records', () => {
  it('hash every file the model is assembled from and the images, exactly', async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const image = fixturePath('tiny-qwen2-vl', 'image.png');
    const previous = process.env['ICOT_CACHE_DIR'];
    process.env['ICOT_CACHE_DIR'] = join(dir, 'cache');
    try {
      const outcome = await executeRun({ model: { source: fixturePath('tiny-qwen2-vl') }, images: [{ path: image }], prompt: { text: oracle.prompt_text }, maxNewTokens: 2, record: true });
      const record = outcome.record!;
      expect(record.modelFolder).toBe(fixturePath('tiny-qwen2-vl'));
      expect(record.modelFiles.map((f) => f.path)).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/decoder_model_merged.onnx', 'onnx/vision_encoder.onnx']));
      for (const file of record.modelFiles) expect(file.sha256).toBe(await sha256(join(record.modelFolder!, file.path)));
      expect(record.images).toEqual([{ path: image, bytes: (await stat(image)).size, sha256: await sha256(image) }]);
      // the hashes are kept for the next run
      const cached = JSON.parse(await readFile(join(dir, 'cache', 'file-hashes.json'), 'utf8')) as Record<string, { sha256: string }>;
      expect(Object.values(cached).map((e) => e.sha256)).toContain(record.images[0]!.sha256);
    } finally {
      if (previous === undefined) delete process.env['ICOT_CACHE_DIR'];
      else process.env['ICOT_CACHE_DIR'] = previous;
    }
  });

  it('without record: true, nothing is hashed', async () => {
    const oracle = loadOracle('tiny-qwen2-vl');
    const outcome = await executeRun({ model: { source: fixturePath('tiny-qwen2-vl') }, images: [{ path: fixturePath('tiny-qwen2-vl', 'image.png') }], prompt: { text: oracle.prompt_text }, maxNewTokens: 1 });
    expect(outcome.record).toBeUndefined();
  });
});

describe('FileHasher', () => {
  it('reuses a hash while size and time are unchanged, and hashes again when the file changes', async () => {
    const file = join(dir, 'weights.bin');
    const cacheFile = join(dir, 'hashes.json');
    await writeFile(file, 'first');
    const time = new Date(1_700_000_000_000); // whole seconds: utimes keeps them exactly
    await utimes(file, time, time);
    const first = await new FileHasher(cacheFile).hash(file, 'weights.bin');
    expect(first).toEqual({ path: 'weights.bin', bytes: 5, sha256: await sha256(file) });
    const hasher = new FileHasher(cacheFile);
    await hasher.hash(file);
    await hasher.save();
    // same size and time: the remembered hash (proves the cache is read: the content changed behind its back)
    await writeFile(file, 'other');
    await utimes(file, time, time);
    expect((await new FileHasher(cacheFile).hash(file)).sha256).toBe(first.sha256);
    // a new time: hashed again
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    expect((await new FileHasher(cacheFile).hash(file)).sha256).toBe(await sha256(file));
  });

  it('names a hub-cache blob by its file name without reading it', async () => {
    const blob = join(dir, 'blobs', 'a'.repeat(64));
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'blobs'), { recursive: true }));
    await writeFile(blob, 'not really that hash');
    expect((await new FileHasher(join(dir, 'h2.json')).hash(blob, 'onnx/x.onnx')).sha256).toBe('a'.repeat(64));
  });
});
