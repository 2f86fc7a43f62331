import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getHFHubCachePath, getRepoFolderName } from '@huggingface/hub';

/** The Hugging Face hub. */
export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** How long a download may receive no bytes before it fails, unless configured (30 s). */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

function cacheHome(): string {
  return process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
}

/**
 * The hub cache folder, chosen as huggingface_hub (Python) and `@huggingface/hub` choose it:
 * `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. Read on every call.
 */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

/**
 * icot's own cache folder (tapped model copies, scratch folders): `$ICOT_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/icot`, else `~/.cache/icot`. Read on every call.
 */
export function icotCacheDir(): string {
  return process.env['ICOT_CACHE_DIR'] || join(cacheHome(), 'icot');
}

/** The folder name of a model repository in the hub cache (`models--org--name`). */
export function repoFolderName(repoId: string): string {
  return getRepoFolderName({ name: repoId, type: 'model' });
}

/** Whether `value` looks like a hub repository id (`owner/name`). */
export function isHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(value) && !value.includes('..');
}

/** Whether `revision` is a full commit hash (40 hex digits), as huggingface_hub tests it. */
export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** The hub address: `explicit`, else `$HF_ENDPOINT`, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(explicit?: string): string {
  return (explicit || process.env['HF_ENDPOINT'] || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/**
 * The access token: `explicit`, else `$HF_TOKEN`, else `$HUGGING_FACE_HUB_TOKEN`, else the file
 * that `huggingface-cli login` / `hf auth login` writes (`$HF_TOKEN_PATH`, else `$HF_HOME/token`,
 * else `~/.cache/huggingface/token`).
 */
export function hubToken(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const env = process.env;
  const fromEnv = env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'];
  if (fromEnv) return fromEnv.trim();
  const file = env['HF_TOKEN_PATH'] || join(env['HF_HOME'] || join(cacheHome(), 'huggingface'), 'token');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `$HF_HUB_OFFLINE` turns network use off (1, true, yes or on, as in huggingface_hub). */
export function offlineByEnvironment(): boolean {
  return ['1', 'true', 'yes', 'on'].includes((process.env['HF_HUB_OFFLINE'] ?? '').trim().toLowerCase());
}

/** The stall timeout: `explicit`, else `$HF_HUB_DOWNLOAD_TIMEOUT` (seconds), else 30 s. */
export function stallTimeoutMs(explicit?: number): number {
  if (explicit !== undefined && explicit > 0) return explicit;
  const seconds = Number(process.env['HF_HUB_DOWNLOAD_TIMEOUT']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_STALL_TIMEOUT_MS;
}
