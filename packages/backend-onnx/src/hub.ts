import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { IcotError, ModelFilesError } from '@icot/core';

/** Progress of a hub download. */
export interface DownloadProgress {
  readonly file: string;
  readonly loaded: number;
  /** Total bytes, when the server says. */
  readonly total: number | undefined;
  /** Whether the file came from the cache. */
  readonly cached: boolean;
}

/** Where and how hub files are fetched. */
export interface HubOptions {
  /** Cache folder (default `$ICOT_CACHE_DIR`, else `$XDG_CACHE_HOME/icot/hub`, else `~/.cache/icot/hub`). */
  readonly cacheDir?: string;
  /** Branch, tag or commit (default `main`). */
  readonly revision?: string;
  /** Hub address (default `$HF_ENDPOINT` or https://huggingface.co). */
  readonly endpoint?: string;
  /** Access token for gated or private models (default `$HF_TOKEN`). */
  readonly token?: string;
  /** Never use the network; fail if a file is not cached. */
  readonly localFilesOnly?: boolean;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** fetch implementation (default the global one). */
  readonly fetch?: typeof fetch;
}

/** Whether `value` looks like a hub repository id (`owner/name`). */
export function isHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(value) && !value.includes('..');
}

/** Default cache folder for hub downloads. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env['ICOT_CACHE_DIR']) return env['ICOT_CACHE_DIR'];
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'icot', 'hub');
}

/** Local folder of a hub repository at a revision inside the cache. */
export function cachedModelDir(repoId: string, options: Pick<HubOptions, 'cacheDir' | 'revision'> = {}): string {
  return join(options.cacheDir ?? defaultCacheDir(), `models--${repoId.replace('/', '--')}`, options.revision ?? 'main');
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A Hugging Face hub repository mirrored into a local cache folder, file by file. Files already
 * cached are used without touching the network; downloads go to a temporary name first, so an
 * interrupted download never leaves a truncated file behind.
 */
export class HubRepository {
  readonly dir: string;
  private readonly endpoint: string;
  private readonly revision: string;
  private listing: string[] | undefined;

  constructor(
    readonly repoId: string,
    private readonly options: HubOptions = {},
  ) {
    this.endpoint = (options.endpoint ?? process.env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(/\/$/, '');
    this.revision = options.revision ?? 'main';
    this.dir = cachedModelDir(repoId, options);
  }

  private headers(): Record<string, string> {
    const token = this.options.token ?? process.env['HF_TOKEN'];
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private async request(url: string): Promise<Response> {
    const doFetch = this.options.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(url, { headers: this.headers(), signal: this.options.signal ?? null, redirect: 'follow' });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new IcotError('network', `Cannot reach ${this.endpoint} for ${this.repoId}: ${(error as Error).message}`, {
        hint: 'Check the network connection, or download the model folder elsewhere and pass its path.',
        cause: error,
      });
    }
    if (response.status === 401 || response.status === 403)
      throw new ModelFilesError(`The hub refused access to ${this.repoId} (HTTP ${response.status}).`, {
        hint: 'Accept the model licence on the hub and set HF_TOKEN to an access token.',
      });
    if (response.status === 404) throw new ModelFilesError(`${url} does not exist on the hub (HTTP 404).`, { hint: `Check the model id '${this.repoId}' and revision '${this.revision}'.` });
    if (!response.ok) throw new IcotError('network', `The hub answered HTTP ${response.status} for ${url}.`, { hint: 'Try again later.' });
    return response;
  }

  /** Files in the repository (from the hub, or from the cache when offline / local-only). */
  async files(): Promise<string[]> {
    if (this.listing) return this.listing;
    if (!this.options.localFilesOnly) {
      try {
        const response = await this.request(`${this.endpoint}/api/models/${this.repoId}/revision/${encodeURIComponent(this.revision)}`);
        const info = (await response.json()) as { siblings?: { rfilename: string }[] };
        this.listing = (info.siblings ?? []).map((s) => s.rfilename);
        return this.listing;
      } catch (error) {
        if (!(error instanceof IcotError) || error.code !== 'network') throw error;
        const cached = await this.cachedFiles();
        if (!cached.length) throw error;
        this.listing = cached;
        return cached;
      }
    }
    this.listing = await this.cachedFiles();
    if (!this.listing.length)
      throw new ModelFilesError(`${this.repoId} is not in the cache (${this.dir}) and network use is off.`, {
        hint: 'Run once with network access to download it, or pass a local model folder.',
      });
    return this.listing;
  }

  private async cachedFiles(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.dir, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path);
        else if (!e.name.endsWith('.incomplete')) out.push(path);
      }
    };
    await walk('');
    return out;
  }

  /** Make sure `file` is in the cache; returns its local path. */
  async fetchFile(file: string): Promise<string> {
    const target = join(this.dir, file);
    if (await fileExists(target)) {
      this.options.onProgress?.({ file, loaded: 0, total: undefined, cached: true });
      return target;
    }
    if (this.options.localFilesOnly)
      throw new ModelFilesError(`${file} of ${this.repoId} is not in the cache and network use is off.`, { missing: [file], hint: 'Allow network access once, or pass a local folder.' });
    const response = await this.request(`${this.endpoint}/${this.repoId}/resolve/${encodeURIComponent(this.revision)}/${file}`);
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.${process.pid}.incomplete`;
    const total = Number(response.headers.get('content-length')) || undefined;
    let loaded = 0;
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      loaded += chunk.length;
      this.options.onProgress?.({ file, loaded, total, cached: false });
    });
    try {
      await pipeline(body, createWriteStream(partial));
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw new IcotError('network', `Downloading ${file} of ${this.repoId} failed: ${(error as Error).message}`, { hint: 'Run the command again; finished files are kept.', cause: error });
    }
    return target;
  }
}
