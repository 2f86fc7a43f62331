import { AbortedError, ModelFilesError, NetworkError } from '@icot/core';
import type { FileSource } from '@icot/model';

/** Progress of one model file being read: from the network (`cached: false`) or the Cache API. */
export interface FileProgress {
  /** Path relative to the model root (e.g. `onnx/decoder_model_merged.onnx`). */
  readonly file: string;
  /** Bytes read so far. */
  readonly loaded: number;
  /** The file's size when the server or cache says it (Content-Length), else undefined. */
  readonly total: number | undefined;
  /** Whether the bytes come from the Cache API. */
  readonly cached: boolean;
  /** Whether the file is complete. */
  readonly done: boolean;
}

/** Options of {@link urlFileSource}. */
export interface UrlFileSourceOptions {
  /**
   * Cache API storage the files are kept in (the name of a cache, or an open `Cache`), so a model
   * is downloaded once per origin; `false` reads from the network every time (default
   * `'icot-models'` where the Cache API exists - secure contexts, which include http://127.0.0.1
   * and http://localhost - and no caching elsewhere).
   */
  readonly cache?: string | Cache | false;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Request init merged into every request (headers, credentials ...). */
  readonly requestInit?: RequestInit;
  /** Progress of each file read in full (about every chunk the stream delivers). */
  readonly onProgress?: (progress: FileProgress) => void;
  /** Cancels requests under way; reads after it fail with AbortedError. */
  readonly signal?: AbortSignal;
}

/** The default Cache API storage name. */
export const DEFAULT_MODEL_CACHE = 'icot-models';

/** `base` as a folder URL (a trailing slash), resolved against the page or worker location. */
function folderUrl(base: string | URL): URL {
  const text = String(base);
  const location = (globalThis as { location?: { href: string } }).location?.href;
  const url = location ? new URL(text, location) : new URL(text);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Read a response body to bytes, reporting progress. */
async function readBody(response: Response, report: (loaded: number, done: boolean) => void): Promise<Uint8Array> {
  const length = Number(response.headers.get('content-length'));
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    report(bytes.length, true);
    return bytes;
  }
  const reader = response.body.getReader();
  let out = new Uint8Array(Number.isFinite(length) && length > 0 ? length : 1 << 16);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, loaded + value.length));
      grown.set(out.subarray(0, loaded));
      out = grown;
    }
    out.set(value, loaded);
    loaded += value.length;
    report(loaded, false);
  }
  report(loaded, true);
  return loaded === out.length ? out : out.slice(0, loaded);
}

/**
 * A model's files at a URL (a folder in the onnx-community layout served over HTTP: the page's own
 * origin, a CDN, a hub `resolve/<revision>/` URL ...), kept in the Cache API so each file is
 * downloaded once. Paths are relative to `base`. A missing file (HTTP 404) is a
 * {@link ModelFilesError} naming it; any other failure a {@link NetworkError} with the status.
 * Cached responses are used as they are: clear the cache (`caches.delete(name)`) to fetch a new
 * revision, or put the revision in `base`.
 */
export function urlFileSource(base: string | URL, options: UrlFileSourceOptions = {}): FileSource {
  const root = folderUrl(base);
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const cacheStorage = (globalThis as { caches?: CacheStorage }).caches;
  const setting = options.cache ?? DEFAULT_MODEL_CACHE;
  let opened: Promise<Cache | undefined> | undefined;
  const cache = (): Promise<Cache | undefined> =>
    (opened ??=
      setting === false
        ? Promise.resolve(undefined)
        : typeof setting !== 'string'
          ? Promise.resolve(setting)
          : cacheStorage
            ? cacheStorage.open(setting).catch(() => undefined) // e.g. an insecure context: no caching
            : Promise.resolve(undefined));
  const urlOf = (path: string): string => new URL(path.split('/').map(encodeURIComponent).join('/'), root).href;
  const aborted = (): never => {
    const reason: unknown = options.signal?.reason;
    throw reason instanceof AbortedError ? reason : new AbortedError('Reading the model files was cancelled.');
  };
  const request = async (path: string, method: 'GET' | 'HEAD'): Promise<Response> => {
    if (options.signal?.aborted) aborted();
    try {
      return await doFetch(urlOf(path), { ...options.requestInit, method, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      if (options.signal?.aborted) aborted();
      throw new NetworkError(`Cannot fetch ${urlOf(path)}: ${(error as Error).message}`, {
        hint: 'Check that the model URL is served (and allows this origin, CORS), or that the network is up.',
        cause: error,
      });
    }
  };
  const failed = (path: string, response: Response): Error =>
    response.status === 404 || response.status === 410
      ? new ModelFilesError(`${urlOf(path)} is missing (HTTP ${response.status}).`, { missing: [path], hint: 'Serve the complete model folder (configs, tokenizer and onnx/ files) at that URL.' })
      : new NetworkError(`${urlOf(path)} answered HTTP ${response.status} ${response.statusText}.`, { status: response.status, hint: 'Check the server and the URL.' });
  const exists = new Map<string, Promise<boolean>>();
  return {
    location: root.href,
    describe: urlOf,
    exists(path) {
      let known = exists.get(path);
      if (!known) {
        known = (async () => {
          if (await (await cache())?.match(urlOf(path))) return true;
          const response = await request(path, 'HEAD');
          if (response.ok) return true;
          if (response.status === 404 || response.status === 410) return false;
          throw failed(path, response);
        })();
        exists.set(path, known);
        known.catch(() => exists.delete(path));
      }
      return known;
    },
    async readBytes(path) {
      const store = await cache();
      const url = urlOf(path);
      const hit = await store?.match(url);
      const response = hit ?? (await request(path, 'GET'));
      if (!response.ok) throw failed(path, response);
      if (!hit && store) {
        // stored while it is read; a failed put (quota) only means no caching
        const copy = response.clone();
        void store.put(url, copy).catch(() => undefined);
      }
      const total = Number(response.headers.get('content-length'));
      try {
        return await readBody(response, (loaded, done) =>
          options.onProgress?.({ file: path, loaded, total: Number.isFinite(total) && total > 0 ? total : undefined, cached: hit !== undefined, done }),
        );
      } catch (error) {
        if (options.signal?.aborted) aborted();
        throw new NetworkError(`Reading ${url} failed: ${(error as Error).message}`, { hint: 'Try again; the connection may have dropped.', cause: error });
      }
    },
    async readText(path) {
      return new TextDecoder().decode(await this.readBytes(path));
    },
  };
}

/**
 * A model's files held in memory (path -> bytes), e.g. files a user picked (`<input type=file
 * webkitdirectory>`) or unpacked from an archive.
 */
export function memoryFileSource(files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>, location = 'memory'): FileSource {
  const map = files instanceof Map ? (files as ReadonlyMap<string, Uint8Array>) : new Map(Object.entries(files));
  const get = (path: string): Uint8Array => {
    const bytes = map.get(path);
    if (!bytes) throw new ModelFilesError(`${location}/${path} is missing.`, { missing: [path], hint: 'Add the file to the model files.' });
    return bytes;
  };
  return {
    location,
    describe: (path) => `${location}/${path}`,
    exists: async (path) => map.has(path),
    readBytes: async (path) => get(path),
    readText: async (path) => new TextDecoder().decode(get(path)),
    list: async (folder) => [...map.keys()].filter((p) => p.startsWith(`${folder}/`)).map((p) => p.slice(folder.length + 1)).filter((p) => !p.includes('/')),
  };
}
