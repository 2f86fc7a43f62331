import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { icotCacheDir } from './locations.js';

/** Tapped copies unused for this long are deleted by {@link sweepTappedCopies} (14 days). */
export const TAPPED_COPY_MAX_IDLE_MS = 14 * 24 * 3600 * 1000;

const MODEL_FILE = 'model.onnx';
const META_FILE = 'meta.json';

/** What a tapped copy was made from (stored beside it as `meta.json`). */
export interface TappedCopySource {
  /** The graph file it was made from, when it was made. */
  readonly source: string;
  /** Content id of that file: `etag:<blob>` (hub cache) or `sha256:<hex>`. */
  readonly contentId: string;
  /** The settings of the edit (e.g. tapped layers) and its format version. */
  readonly settings: unknown;
}

/** A tapped copy in icot's cache. */
export interface TappedCopyInfo {
  readonly key: string;
  readonly dir: string;
  /** Bytes on disk. */
  readonly size: number;
  /** Last time a load used it. */
  readonly lastUsed: Date;
  /** From `meta.json`; absent for copies of an older icot (which the next sweep deletes). */
  readonly made?: TappedCopySource & { readonly created: string };
}

/** `<icot cache>/tapped`: edited graphs (attention taps) keyed by the content they were made from. */
export function tappedCopiesDir(root: string = icotCacheDir()): string {
  return join(root, 'tapped');
}

/** `<icot cache>/tmp`: scratch folders of running processes. */
export function scratchDir(root: string = icotCacheDir()): string {
  return join(root, 'tmp');
}

function checkKey(key: string): void {
  if (!/^[0-9a-z][0-9a-z-]*$/.test(key)) throw new Error(`Invalid tapped-copy key '${key}'.`);
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderSize(path);
    else total += (await stat(path).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/**
 * The stored copy under `key` (the path of its graph file), marked as used now; `undefined` when
 * there is none.
 */
export async function findTappedCopy(key: string, root?: string): Promise<string | undefined> {
  checkKey(key);
  const dir = join(tappedCopiesDir(root), key);
  try {
    await stat(join(dir, META_FILE));
    if (!(await stat(join(dir, MODEL_FILE))).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const now = new Date();
  await utimes(join(dir, META_FILE), now, now).catch(() => {});
  return join(dir, MODEL_FILE);
}

/**
 * Store `bytes` as the copy under `key` (written in a scratch folder, then renamed into place, so
 * a reader never sees half a copy); returns the path of its graph file. When another process
 * stored the same key first, its copy is kept.
 */
export async function storeTappedCopy(key: string, bytes: Uint8Array, source: TappedCopySource, root?: string): Promise<string> {
  checkKey(key);
  const dir = join(tappedCopiesDir(root), key);
  const scratch = await createScratchFolder(root);
  try {
    await writeFile(join(scratch.dir, MODEL_FILE), bytes);
    await writeFile(join(scratch.dir, META_FILE), `${JSON.stringify({ ...source, created: new Date().toISOString() }, null, 2)}\n`);
    await mkdir(tappedCopiesDir(root), { recursive: true });
    try {
      await rename(scratch.dir, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // stored concurrently by another process (same key, same content)
    }
  } finally {
    await scratch.remove();
  }
  return join(dir, MODEL_FILE);
}

/** Every tapped copy in icot's cache, oldest use first. */
export async function listTappedCopies(root?: string): Promise<TappedCopyInfo[]> {
  const base = tappedCopiesDir(root);
  const out: TappedCopyInfo[] = [];
  for (const entry of await readdir(base, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const dir = join(base, entry.name);
    let made: TappedCopyInfo['made'];
    let lastUsed: Date;
    try {
      made = JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as TappedCopyInfo['made'];
      lastUsed = (await stat(join(dir, META_FILE))).mtime;
    } catch {
      made = undefined;
      lastUsed = (await stat(dir)).mtime;
    }
    out.push({ key: entry.name, dir, size: await folderSize(dir), lastUsed, ...(made ? { made } : {}) });
  }
  return out.sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
}

/** Delete every tapped copy; returns how many there were. */
export async function removeTappedCopies(root?: string): Promise<number> {
  const copies = await listTappedCopies(root);
  for (const copy of copies) await rm(copy.dir, { recursive: true, force: true });
  return copies.length;
}

/**
 * Delete tapped copies unused for `maxIdleMs` (default 14 days) and copies left by older icot
 * versions (no `meta.json`: they held links into model folders that may be gone). Returns how
 * many were deleted.
 */
export async function sweepTappedCopies(root?: string, maxIdleMs: number = TAPPED_COPY_MAX_IDLE_MS): Promise<number> {
  let removed = 0;
  const now = Date.now();
  for (const copy of await listTappedCopies(root)) {
    if (copy.made && now - copy.lastUsed.getTime() <= maxIdleMs) continue;
    await rm(copy.dir, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

/** A folder only this process uses, under `<icot cache>/tmp`. */
export interface ScratchFolder {
  readonly dir: string;
  /** Delete it (errors are ignored: a later sweep deletes what is left). */
  remove(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete scratch folders whose process is gone (left by a crash); returns how many. */
export async function sweepScratchFolders(root?: string): Promise<number> {
  let removed = 0;
  const base = scratchDir(root);
  for (const name of await readdir(base).catch(() => [])) {
    const pid = Number.parseInt(name, 10);
    if (Number.isInteger(pid) && (pid === process.pid || isAlive(pid))) continue;
    await rm(join(base, name), { recursive: true, force: true }).catch(() => {});
    removed += 1;
  }
  return removed;
}

/** Make a fresh scratch folder (named after this process, so a crash leaves nothing a sweep cannot tell apart). */
export async function createScratchFolder(root?: string): Promise<ScratchFolder> {
  const dir = join(scratchDir(root), `${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }).catch(() => {}) };
}

/**
 * Hard-link the real file behind `source` (following symlinks, e.g. a snapshot link into
 * `blobs/`) at `target`, creating its folder. Fails with the file system's error (`EXDEV` when
 * the two are on different file systems).
 */
export async function linkRealFile(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await link(await realpath(source), target);
}
