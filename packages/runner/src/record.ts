/**
 * What reproduces a run: the sha256 of every file the model is assembled from and of each
 * image. Hashing a multi-gigabyte model takes seconds, so hashes are kept in
 * `<icot cache>/file-hashes.json` keyed by the file's real path, size and modification time; a
 * hub-cache file needs no hashing at all (its blob is named by its sha256).
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, realpath, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { icotCacheDir } from '@icot/hub';

/** One hashed file. */
export interface FileHash {
  /** The path as the record names it (relative to the model folder, or the image path given). */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

interface CacheEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** sha256 of bytes in memory. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function hashStream(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hashes files, remembering them across runs (see the module note). */
export class FileHasher {
  private entries: Record<string, CacheEntry> | undefined;
  private changed = false;
  private readonly cacheFile: string;

  /** `cacheFile`: where hashes are kept (default `<icot cache>/file-hashes.json`). */
  constructor(cacheFile: string = join(icotCacheDir(), 'file-hashes.json')) {
    this.cacheFile = cacheFile;
  }

  private async load(): Promise<Record<string, CacheEntry>> {
    if (this.entries) return this.entries;
    try {
      this.entries = JSON.parse(await readFile(this.cacheFile, 'utf8')) as Record<string, CacheEntry>;
    } catch {
      this.entries = {}; // missing or unreadable: hash again
    }
    return this.entries;
  }

  /** The sha256 and size of the file at `path`, named `name` in the result. */
  async hash(path: string, name: string = path): Promise<FileHash> {
    const real = await realpath(path);
    const info = await stat(real);
    // a hub-cache blob (`.../blobs/<sha256>`) is named by the sha256 of its bytes
    if (basename(dirname(real)) === 'blobs' && SHA256.test(basename(real))) return { path: name, bytes: info.size, sha256: basename(real) };
    const entries = await this.load();
    const known = entries[real];
    if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) return { path: name, bytes: info.size, sha256: known.sha256 };
    const sha256 = await hashStream(real);
    entries[real] = { size: info.size, mtimeMs: info.mtimeMs, sha256 };
    this.changed = true;
    return { path: name, bytes: info.size, sha256 };
  }

  /** Write new hashes to the cache file (atomically; a cache that cannot be written is skipped). */
  async save(): Promise<void> {
    if (!this.changed || !this.entries) return;
    try {
      await mkdir(dirname(this.cacheFile), { recursive: true });
      const temporary = `${this.cacheFile}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(this.entries));
      await rename(temporary, this.cacheFile);
      this.changed = false;
    } catch {
      // a read-only cache only costs the next run a rehash
    }
  }
}
