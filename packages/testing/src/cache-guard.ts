/**
 * vitest global setup that keeps tests away from the user's caches. For the whole test run it
 * points `HF_HOME`, `HF_HUB_CACHE`, `XDG_CACHE_HOME` and `ICOT_CACHE_DIR` at a temporary folder
 * (and `HF_ENDPOINT` at an address that refuses connections, and clears tokens and
 * `HF_HUB_OFFLINE`), records the real cache folders (the Hugging Face home and hub cache, icot's
 * cache), and fails the run when any of them changed. Used by `vitest.shared.ts`.
 * @module
 */
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The cache folders the user's environment names (before the guard changes it). */
export function userCacheFolders(env: NodeJS.ProcessEnv = process.env): string[] {
  const cacheHome = env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  const hfHome = env['HF_HOME'] || join(cacheHome, 'huggingface');
  const folders = [hfHome, env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'] || join(hfHome, 'hub'), env['ICOT_CACHE_DIR'] || join(cacheHome, 'icot')];
  return [...new Set(folders)];
}

/** Every entry under `dir` as `path -> kind:size:mtime[:link target]` (empty when `dir` is missing). */
export async function folderState(dir: string): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  const walk = async (path: string): Promise<void> => {
    let info;
    try {
      info = await lstat(path);
    } catch {
      return;
    }
    if (info.isSymbolicLink()) state.set(path, `link:${await readlink(path).catch(() => '?')}`);
    else if (info.isDirectory()) {
      state.set(path, 'dir');
      for (const name of await readdir(path).catch(() => [])) await walk(join(path, name));
    } else state.set(path, `file:${info.size}:${info.mtimeMs}`);
  };
  await walk(dir);
  return state;
}

/** Paths that differ between two {@link folderState}s. */
export function changedPaths(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed: string[] = [];
  for (const [path, state] of after) if (before.get(path) !== state) changed.push(before.has(path) ? `changed ${path}` : `added ${path}`);
  for (const path of before.keys()) if (!after.has(path)) changed.push(`removed ${path}`);
  return changed;
}

/** vitest globalSetup: isolate the caches, and return the teardown that checks the real ones. */
export default async function cacheGuard(): Promise<() => Promise<void>> {
  const real = userCacheFolders();
  const before = await Promise.all(real.map((dir) => folderState(dir)));
  const root = await mkdtemp(join(tmpdir(), 'icot-test-caches-'));
  const saved = { ...process.env };
  Object.assign(process.env, {
    HF_HOME: join(root, 'huggingface'),
    HF_HUB_CACHE: join(root, 'huggingface', 'hub'),
    XDG_CACHE_HOME: join(root, 'xdg'),
    ICOT_CACHE_DIR: join(root, 'icot'),
    HF_ENDPOINT: 'http://127.0.0.1:9',
  });
  for (const name of ['HUGGINGFACE_HUB_CACHE', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HUB_OFFLINE', 'HF_HUB_DOWNLOAD_TIMEOUT']) delete process.env[name];
  return async () => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    await rm(root, { recursive: true, force: true });
    const changes = (await Promise.all(real.map(async (dir, i) => changedPaths(before[i]!, await folderState(dir))))).flat();
    if (!changes.length) return;
    process.exitCode = 1; // vitest only logs errors thrown by a global teardown
    throw new Error(
        `Tests changed the user's caches (they must use temporary ones):\n  ${changes.slice(0, 20).join('\n  ')}${changes.length > 20 ? `\n  ... and ${changes.length - 20} more` : ''}`,
      );
  };
}
