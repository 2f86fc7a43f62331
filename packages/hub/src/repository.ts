import { copyFile, mkdir, readdir, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { HubApiError, modelInfo } from '@huggingface/hub';
import { ModelFilesError, NetworkError, OptionError } from '@icot/core';
import { downloadBlob } from './download.js';
import { HubHttp } from './http.js';
import { hubCacheDir, hubEndpoint, hubToken, isCommitHash, offlineByEnvironment, repoFolderName, stallTimeoutMs } from './locations.js';
import { ProgressReporter, type ProgressListener } from './progress.js';

/** Where and how hub files are fetched. Every field is optional. */
export interface HubOptions {
  /** Hub cache folder (default {@link hubCacheDir}: `$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`). */
  readonly cacheDir?: string;
  /** Branch, tag or commit (default `main`). */
  readonly revision?: string;
  /** Hub address (default `$HF_ENDPOINT`, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Access token for gated or private models (default `$HF_TOKEN`, else the token `hf auth login` saved). */
  readonly token?: string;
  /** Never use the network: resolve the revision through the cache's `refs/` (also on when `$HF_HUB_OFFLINE` is set). */
  readonly localFilesOnly?: boolean;
  /** Download progress (and one report per file found in the cache). */
  readonly onProgress?: ProgressListener;
  /** Cancels downloads with `AbortedError`; a partial download is kept and resumed next time. */
  readonly signal?: AbortSignal;
  /** A request fails when the server sends nothing for this long (default `$HF_HUB_DOWNLOAD_TIMEOUT` s, else 30 s). */
  readonly stallTimeoutMs?: number;
  /** Retries of a download whose connection dropped or stalled after delivering data (default 3, reset by progress). */
  readonly retries?: number;
  /** fetch implementation (default the global one). */
  readonly fetch?: typeof fetch;
}

/** A revision resolved to a commit, with the repository's file list. */
export interface ResolvedRevision {
  readonly repoId: string;
  /** The revision asked for (branch, tag or commit). */
  readonly revision: string;
  /** The commit it names. */
  readonly commit: string;
  /** Files of the repository at that commit (only the cached ones when resolved from the cache). */
  readonly files: readonly string[];
  /** `snapshots/<commit>` in the cache: the model folder, once its files are fetched. */
  readonly snapshotDir: string;
  /** `undefined` when the hub answered; else why the cache was used instead. */
  readonly fromCache: 'offline' | 'unreachable' | undefined;
}

/** What the hub says about one file (from the `resolve` address, as huggingface_hub reads it). */
export interface FileMetadata {
  /** The blob name: the LFS sha256 (`X-Linked-Etag`) or the git blob id (`ETag`), unquoted. */
  readonly etag: string;
  readonly size: number | undefined;
  /** Where the bytes are: the resolve address, or the CDN address an LFS file redirects to. */
  readonly location: string;
  /** `X-Repo-Commit`. */
  readonly commit: string | undefined;
}

const MAX_RELATIVE_REDIRECTS = 5;

/** huggingface_hub's etag normalisation: no weak prefix, no quotes. */
function normalizeEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.replace(/^W\//, '').replace(/^"|"$/g, '') || undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Files under `dir` (following links, skipping broken ones), as `/`-separated relative paths. */
async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(join(dir, prefix), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const info = await stat(join(dir, path)).catch(() => undefined);
    if (info?.isDirectory()) out.push(...(await listTree(dir, path)));
    else if (info?.isFile()) out.push(path);
  }
  return out.sort();
}

/** Point `pointer` at `blob` with a relative symlink (a copy where symlinks are not allowed), as huggingface_hub does. */
async function linkPointer(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  const target = relative(dirname(pointer), blob);
  try {
    await symlink(target, pointer);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await realpath(pointer).catch(() => '')) === (await realpath(blob))) return; // linked concurrently
      await rm(pointer, { force: true });
      await symlink(target, pointer);
    } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') await copyFile(blob, pointer);
    else throw error;
  }
}

/** Whether a `/`-separated path stays inside the folder it is joined to (no `..`, no absolute path, no empty part). */
function isSafeRelativePath(path: string): boolean {
  return path.length > 0 && !path.includes('\\') && !path.includes('\0') && path.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/**
 * A Hugging Face model repository, fetched into the hub cache in the layout huggingface_hub
 * (Python) uses, so either tool reuses what the other downloaded:
 * `models--org--name/refs/<revision>` holds the commit a branch or tag resolved to,
 * `blobs/<etag>` the file contents, and `snapshots/<commit>/<path>` relative symlinks to them.
 * With network use off (or the hub unreachable) the revision is resolved through `refs/`.
 */
export class HubRepository {
  /** The hub cache folder. */
  readonly cacheDir: string;
  /** `<cacheDir>/models--org--name`. */
  readonly storageDir: string;
  readonly revision: string;
  readonly endpoint: string;
  private readonly http: HubHttp;
  private resolving: Promise<ResolvedRevision> | undefined;

  constructor(
    readonly repoId: string,
    private readonly options: HubOptions = {},
  ) {
    if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repoId) || !isSafeRelativePath(repoId))
      throw new OptionError(`'${repoId}' is not a hub repository id.`, { hint: 'Use the form org/name, e.g. onnx-community/Qwen2-VL-2B-Instruct.' });
    if (options.revision !== undefined && !isSafeRelativePath(options.revision))
      throw new OptionError(`'${options.revision}' is not a revision.`, { hint: 'Use a branch, a tag or a commit hash.' });
    this.cacheDir = options.cacheDir ?? hubCacheDir();
    this.storageDir = join(this.cacheDir, repoFolderName(repoId));
    this.revision = options.revision ?? 'main';
    this.endpoint = hubEndpoint(options.endpoint);
    const token = hubToken(options.token);
    this.http = new HubHttp({
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(token ? { token } : {}),
      tokenOrigin: new URL(this.endpoint).origin,
      stallTimeoutMs: stallTimeoutMs(options.stallTimeoutMs),
    });
  }

  /** Whether network use is off (the option, or `$HF_HUB_OFFLINE`, which wins as in huggingface_hub). */
  get localFilesOnly(): boolean {
    return this.options.localFilesOnly === true || offlineByEnvironment();
  }

  /** Resolve the revision to a commit and list the files (once; later calls share the answer). */
  resolve(): Promise<ResolvedRevision> {
    this.resolving ??= this.resolveOnce();
    return this.resolving;
  }

  private async resolveOnce(): Promise<ResolvedRevision> {
    if (this.localFilesOnly) {
      const cached = await this.resolveFromCache('offline');
      if (cached) return cached;
      throw new ModelFilesError(`${this.repoId} (revision ${this.revision}) is not in the hub cache (${this.cacheDir}) and network use is off.`, {
        hint: 'Run once with network access to download it (icot or huggingface-cli download fill the same cache), or pass a local model folder.',
      });
    }
    let commit: string;
    let files: string[];
    try {
      const info = await modelInfo({ name: this.repoId, revision: this.revision, hubUrl: this.endpoint, additionalFields: ['sha', 'filePaths'], fetch: this.http.libraryFetch });
      if (!info.sha) throw new NetworkError(`${this.endpoint} gave no commit for ${this.repoId} at ${this.revision}.`, { hint: 'Point HF_ENDPOINT at a Hugging Face hub or a mirror that serves its API.' });
      commit = info.sha;
      files = [...info.filePaths].sort();
    } catch (error) {
      if (error instanceof HubApiError) throw this.statusError(error.statusCode, `${this.repoId} at revision ${this.revision}`);
      if (error instanceof NetworkError && (error.status === undefined || error.status >= 500)) {
        const cached = await this.resolveFromCache('unreachable');
        if (cached) return cached;
      }
      throw error;
    }
    if (commit !== this.revision) await this.writeRef(commit);
    return { repoId: this.repoId, revision: this.revision, commit, files, snapshotDir: join(this.storageDir, 'snapshots', commit), fromCache: undefined };
  }

  private async resolveFromCache(reason: 'offline' | 'unreachable'): Promise<ResolvedRevision | undefined> {
    let commit = this.revision;
    if (!isCommitHash(commit)) {
      try {
        commit = (await readFile(join(this.storageDir, 'refs', this.revision), 'utf8')).trim();
      } catch {
        return undefined;
      }
    }
    const snapshotDir = join(this.storageDir, 'snapshots', commit);
    const files = await listTree(snapshotDir);
    if (!files.length) return undefined;
    return { repoId: this.repoId, revision: this.revision, commit, files, snapshotDir, fromCache: reason };
  }

  private async writeRef(commit: string): Promise<void> {
    const path = join(this.storageDir, 'refs', ...this.revision.split('/'));
    if ((await readFile(path, 'utf8').catch(() => undefined)) === commit) return;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit); // no newline, as huggingface_hub writes it
  }

  private statusError(status: number, what: string): Error {
    if (status === 401 || status === 403)
      return new ModelFilesError(`The hub refused access to ${what} (HTTP ${status}).`, { hint: 'Accept the model licence on the hub and set HF_TOKEN to an access token (or log in with hf auth login).' });
    if (status === 404) return new ModelFilesError(`${what} does not exist on ${this.endpoint} (HTTP 404).`, { hint: `Check the model id '${this.repoId}' and the revision '${this.revision}'.` });
    return new NetworkError(`The hub answered HTTP ${status} for ${what}.`, { status, hint: 'Try again later.' });
  }

  /** Ask the hub where `file` at `commit` is and which blob it is (a HEAD request, as huggingface_hub does). */
  async metadata(file: string, commit: string): Promise<FileMetadata> {
    let url = `${this.endpoint}/${this.repoId}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`;
    for (let hop = 0; ; hop += 1) {
      const request = await this.http.open(url, { method: 'HEAD', headers: { 'accept-encoding': 'identity' }, redirect: 'manual' }, `Looking up ${file} of ${this.repoId}`);
      request.close();
      const { status, headers } = request.response;
      const location = headers.get('location');
      const redirect = status >= 300 && status < 400 && location !== null;
      // A relative redirect is the hub itself (e.g. a renamed repository): follow it. An absolute one is a CDN.
      if (redirect && !/^[a-z][a-z0-9+.-]*:/i.test(location) && hop < MAX_RELATIVE_REDIRECTS) {
        url = new URL(location, url).href;
        continue;
      }
      if (!redirect && (status < 200 || status >= 300)) throw this.statusError(status, `${file} of ${this.repoId} at ${commit}`);
      const etag = normalizeEtag(headers.get('x-linked-etag') ?? headers.get('etag'));
      if (!etag)
        throw new NetworkError(`${this.endpoint} sent no ETag for ${file} of ${this.repoId}.`, { hint: 'Point HF_ENDPOINT at a Hugging Face hub or a mirror that forwards its headers.' });
      const size = Number(headers.get('x-linked-size') ?? headers.get('content-length') ?? Number.NaN);
      return { etag, size: Number.isFinite(size) ? size : undefined, location: redirect ? new URL(location, url).href : url, commit: headers.get('x-repo-commit') ?? undefined };
    }
  }

  /**
   * Make sure `file` is in the cache at the resolved commit; returns its path in the snapshot
   * folder. A file already there costs no request; a blob already there (from another revision)
   * is linked, not downloaded again.
   */
  async fetchFile(file: string): Promise<string> {
    if (!isSafeRelativePath(file))
      throw new ModelFilesError(`'${file}' is not a file path inside ${this.repoId}.`, { hint: 'Repository files are relative paths without ".." parts.' });
    const resolved = await this.resolve();
    const pointer = join(resolved.snapshotDir, ...file.split('/'));
    if (await isFile(pointer)) {
      this.reportCached(file, (await stat(pointer)).size);
      return pointer;
    }
    if (resolved.fromCache)
      throw new ModelFilesError(
        `${file} of ${this.repoId} is not in the hub cache (${this.cacheDir}) and ${resolved.fromCache === 'offline' ? 'network use is off' : `${this.endpoint} cannot be reached`}.`,
        { missing: [file], hint: 'Run once with network access to download it, or pass a local model folder.' },
      );
    if (!resolved.files.includes(file))
      throw new ModelFilesError(`${this.repoId} has no ${file} at revision ${this.revision}.`, { missing: [file], hint: `Check the file name; the repository has ${resolved.files.length} files.` });
    const meta = await this.metadata(file, resolved.commit);
    const blobPath = join(this.storageDir, 'blobs', meta.etag);
    if (await isFile(blobPath)) this.reportCached(file, (await stat(blobPath)).size);
    else {
      const listener = this.options.onProgress;
      await downloadBlob({
        http: this.http,
        url: meta.location,
        blobPath,
        lockPath: join(this.cacheDir, '.locks', repoFolderName(this.repoId), `${meta.etag}.icot.lock`),
        etag: meta.etag,
        size: meta.size,
        retries: this.options.retries ?? 3,
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        what: `Downloading ${file} of ${this.repoId}`,
        reporter: (resumedFrom) => new ProgressReporter(listener, { repo: this.repoId, file, total: meta.size, resumedFrom }),
      });
    }
    await linkPointer(blobPath, pointer);
    return pointer;
  }

  /** {@link fetchFile} for each file, one after another; returns the snapshot folder. */
  async fetchFiles(files: readonly string[]): Promise<string> {
    for (const file of files) await this.fetchFile(file);
    return (await this.resolve()).snapshotDir;
  }

  private reportCached(file: string, size: number): void {
    this.options.onProgress?.({ repo: this.repoId, file, loaded: size, total: size, cached: true, rate: 0, etaSeconds: 0, resumedFrom: 0, done: true });
  }
}
