import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { hubCacheDir, repoFolderName } from './locations.js';

/** One commit of a cached repository. */
export interface CachedRevision {
  readonly commit: string;
  /** Branches and tags (`refs/`) that point at it. */
  readonly refs: readonly string[];
  /** Files in its snapshot folder. */
  readonly files: number;
  /** Bytes of the blobs its files point to. */
  readonly size: number;
}

/** A model repository in the hub cache. */
export interface CachedRepo {
  readonly repoId: string;
  /** `<cache>/models--org--name`. */
  readonly path: string;
  /** Bytes of its complete blobs (shared by revisions, counted once). */
  readonly size: number;
  /** Bytes of interrupted downloads (`blobs/*.incomplete`) that the next download resumes. */
  readonly incompleteBytes: number;
  readonly revisions: readonly CachedRevision[];
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

async function readRefs(dir: string, prefix = ''): Promise<Map<string, string[]>> {
  const byCommit = new Map<string, string[]>();
  for (const entry of await entries(join(dir, prefix))) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      for (const [commit, refs] of await readRefs(dir, name)) byCommit.set(commit, [...(byCommit.get(commit) ?? []), ...refs]);
    } else {
      const commit = (await readFile(join(dir, name), 'utf8').catch(() => '')).trim();
      if (commit) byCommit.set(commit, [...(byCommit.get(commit) ?? []), name]);
    }
  }
  return byCommit;
}

async function snapshotBlobs(dir: string, blobs: Map<string, number>): Promise<number> {
  let files = 0;
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      files += await snapshotBlobs(path, blobs);
      continue;
    }
    const target = await realpath(path).catch(() => undefined);
    const info = target ? await stat(target).catch(() => undefined) : undefined;
    if (!target || !info?.isFile()) continue;
    files += 1;
    blobs.set(target, info.size);
  }
  return files;
}

/** Read one repository folder of the hub cache; `undefined` when it is not a model repository. */
export async function scanCachedRepo(path: string, folderName: string): Promise<CachedRepo | undefined> {
  const [type, ...parts] = folderName.split('--');
  if (type !== 'models' || parts.length < 2) return undefined;
  const refs = await readRefs(join(path, 'refs'));
  const revisions: CachedRevision[] = [];
  for (const entry of await entries(join(path, 'snapshots'))) {
    if (!entry.isDirectory()) continue;
    const blobs = new Map<string, number>();
    const files = await snapshotBlobs(join(path, 'snapshots', entry.name), blobs);
    revisions.push({ commit: entry.name, refs: refs.get(entry.name) ?? [], files, size: [...blobs.values()].reduce((a, b) => a + b, 0) });
  }
  let size = 0;
  let incompleteBytes = 0;
  for (const entry of await entries(join(path, 'blobs'))) {
    const info = await lstat(join(path, 'blobs', entry.name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (entry.name.endsWith('.incomplete')) incompleteBytes += info.size;
    else size += info.size;
  }
  return { repoId: parts.join('/'), path, size, incompleteBytes, revisions };
}

/**
 * The model repositories in a hub cache (default {@link hubCacheDir}), whichever tool downloaded
 * them, sorted by id. A missing cache folder is an empty cache.
 */
export async function scanHubCache(cacheDir: string = hubCacheDir()): Promise<CachedRepo[]> {
  const repos: CachedRepo[] = [];
  for (const entry of await entries(cacheDir)) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const repo = await scanCachedRepo(join(cacheDir, entry.name), entry.name);
    if (repo) repos.push(repo);
  }
  return repos.sort((a, b) => a.repoId.localeCompare(b.repoId));
}

/** Delete a repository from the hub cache (all revisions, blobs and lock files); returns whether it was there. */
export async function removeCachedRepo(repoId: string, cacheDir: string = hubCacheDir()): Promise<boolean> {
  const folder = repoFolderName(repoId);
  const path = join(cacheDir, folder);
  if (relative(cacheDir, path).startsWith('..')) return false;
  const existed = (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
  await rm(path, { recursive: true, force: true });
  await rm(join(cacheDir, '.locks', folder), { recursive: true, force: true });
  return existed;
}
