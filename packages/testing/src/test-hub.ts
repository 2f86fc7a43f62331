/**
 * A local stand-in for the Hugging Face hub, for tests of hub clients: the model info API
 * (`/api/models/<repo>/revision/<rev>` with `sha` and `siblings`), `resolve/<rev>/<path>` with the
 * headers huggingface_hub reads (`X-Repo-Commit`, `ETag` = git blob id, and for LFS files a 302 to
 * a CDN on another origin with `X-Linked-Etag` = sha256 and `X-Linked-Size`), `Range` requests
 * answered with 206, renamed repositories (relative redirects), and injected faults: stalls before
 * the headers or mid-body, and connections dropped mid-body. Every request is logged.
 * @module
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One logged request. */
export interface TestHubRequest {
  /** `hub` or `cdn` (the LFS file server on another origin). */
  readonly server: 'hub' | 'cdn';
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

/** A fault the next matching file requests (GETs of file bytes, on the hub or the CDN) meet. */
export interface TestHubFault {
  /** `stall-headers`: never answer; `stall-body`: send `afterBytes` bytes, then nothing; `drop`: send `afterBytes` bytes, then close the connection. */
  readonly kind: 'stall-headers' | 'stall-body' | 'drop';
  readonly afterBytes?: number;
  /** Only requests for this repository file (default any). */
  readonly file?: string;
  /** How many requests meet it (default 1). */
  readonly times?: number;
}

/** A running test hub. */
export interface TestHub {
  /** The hub address (use as the endpoint / HF_ENDPOINT). */
  readonly endpoint: string;
  /** The CDN address LFS files redirect to. */
  readonly cdn: string;
  readonly requests: TestHubRequest[];
  /** Add a commit holding `files` to `repoId` and point `branch` (default `main`) at it; returns the commit hash. */
  commit(repoId: string, files: Readonly<Record<string, Uint8Array | string>>, options?: { readonly branch?: string }): string;
  /** Point a tag or branch at a commit. */
  tag(repoId: string, name: string, commit: string): void;
  /** Serve `repoId` also under `oldId`, answering its resolve addresses with relative redirects. */
  rename(oldId: string, repoId: string): void;
  /** Faults the next file requests meet, in order. */
  fail(fault: TestHubFault): void;
  /** Requires `Authorization: Bearer <token>` for `repoId` (401 without, 403 with another). */
  protect(repoId: string, token: string): void;
  close(): Promise<void>;
}

/** Files of at least this size are stored as LFS files (served through the CDN). */
export const TEST_HUB_LFS_THRESHOLD = 1024;

interface StoredFile {
  readonly bytes: Uint8Array;
  readonly lfs: boolean;
  /** git blob id (sha1 of `blob <size>\0` + bytes). */
  readonly gitOid: string;
  readonly sha256: string;
}

interface Repo {
  readonly refs: Map<string, string>;
  readonly commits: Map<string, Map<string, StoredFile>>;
  token?: string;
}

function storeFile(bytes: Uint8Array): StoredFile {
  const gitOid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  return { bytes, lfs: bytes.length >= TEST_HUB_LFS_THRESHOLD, gitOid, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

/** Start a test hub on 127.0.0.1 (two ports: the hub and its CDN). */
export async function startTestHub(): Promise<TestHub> {
  const repos = new Map<string, Repo>();
  const aliases = new Map<string, string>();
  const requests: TestHubRequest[] = [];
  const faults: TestHubFault[] = [];
  const blobs = new Map<string, StoredFile>();
  let commitCount = 0;

  const log = (server: 'hub' | 'cdn', req: IncomingMessage): void => {
    requests.push({ server, method: req.method ?? 'GET', url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
  };

  const takeFault = (file: string): TestHubFault | undefined => {
    const index = faults.findIndex((f) => f.file === undefined || f.file === file);
    if (index < 0) return undefined;
    const fault = faults[index]!;
    const left = (fault.times ?? 1) - 1;
    if (left > 0) faults[index] = { ...fault, times: left };
    else faults.splice(index, 1);
    return fault;
  };

  /** Send a file's bytes (whole or a Range), through any pending fault. */
  const sendBytes = (req: IncomingMessage, res: ServerResponse, file: string, stored: StoredFile, headers: Record<string, string>): void => {
    const size = stored.bytes.length;
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
        res.end();
        return;
      }
    }
    const body = stored.bytes.subarray(start, end + 1);
    const status = range ? 206 : 200;
    const head = { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes', ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) };
    if (req.method === 'HEAD') {
      res.writeHead(status, head);
      res.end();
      return;
    }
    const fault = takeFault(file);
    if (fault?.kind === 'stall-headers') return; // never answer
    res.writeHead(status, head);
    if (!fault) {
      res.end(body);
      return;
    }
    res.write(body.subarray(0, Math.min(fault.afterBytes ?? 0, body.length)), () => {
      if (fault.kind === 'drop') setTimeout(() => res.socket?.destroy(), 20);
      // stall-body: keep the connection open, send nothing more
    });
  };

  const resolveRevision = (repo: Repo, revision: string): string | undefined => repo.refs.get(revision) ?? (repo.commits.has(revision) ? revision : undefined);

  const notFound = (res: ServerResponse, code: string, message: string, extra: Record<string, string> = {}): void => {
    res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': code, ...extra });
    res.end(JSON.stringify({ error: message }));
  };

  const authorized = (repo: Repo, req: IncomingMessage, res: ServerResponse): boolean => {
    if (!repo.token) return true;
    const given = req.headers.authorization;
    if (given === `Bearer ${repo.token}`) return true;
    res.writeHead(given ? 403 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: given ? 'Access to this model is restricted' : 'Unauthorized' }));
    return false;
  };

  const hub = createServer((req, res) => {
    log('hub', req);
    const url = new URL(req.url ?? '/', 'http://hub');
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (api) {
      const repoId = aliases.get(api[1]!) ?? api[1]!;
      const repo = repos.get(repoId);
      if (!repo) return notFound(res, 'RepoNotFound', 'Repository not found');
      if (!authorized(repo, req, res)) return;
      const sha = resolveRevision(repo, api[2]!);
      if (!sha) return notFound(res, 'RevisionNotFound', `Invalid rev id: ${api[2]}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ _id: `id-${repoId}`, id: repoId, private: false, sha, lastModified: new Date(0).toISOString(), siblings: [...repo.commits.get(sha)!.keys()].map((rfilename) => ({ rfilename })) }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve && (req.method === 'GET' || req.method === 'HEAD')) {
      const [, asked, revision, file] = resolve as unknown as [string, string, string, string];
      const alias = aliases.get(asked);
      if (alias) {
        res.writeHead(307, { location: `/${alias}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}` });
        res.end();
        return;
      }
      const repo = repos.get(asked);
      if (!repo) return notFound(res, 'RepoNotFound', 'Repository not found');
      if (!authorized(repo, req, res)) return;
      const sha = resolveRevision(repo, revision);
      if (!sha) return notFound(res, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      const stored = repo.commits.get(sha)!.get(file);
      if (!stored) return notFound(res, 'EntryNotFound', `${file} does not exist`, { 'x-repo-commit': sha });
      if (stored.lfs) {
        res.writeHead(302, {
          location: `${cdnAddress}/lfs/${stored.sha256}?file=${encodeURIComponent(file)}`,
          'x-repo-commit': sha,
          'x-linked-etag': `"${stored.sha256}"`,
          'x-linked-size': String(stored.bytes.length),
          etag: `"${stored.gitOid}"`,
        });
        res.end();
        return;
      }
      sendBytes(req, res, file, stored, { 'x-repo-commit': sha, etag: `"${stored.gitOid}"` });
      return;
    }
    notFound(res, 'NotFound', 'Not found');
  });

  const cdn = createServer((req, res) => {
    log('cdn', req);
    const url = new URL(req.url ?? '/', 'http://cdn');
    const blob = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    const stored = blob ? blobs.get(blob[1]!) : undefined;
    if (!stored) {
      res.writeHead(404);
      res.end();
      return;
    }
    sendBytes(req, res, url.searchParams.get('file') ?? '', stored, { etag: `"${stored.sha256}"` });
  });

  const endpoint = await listen(hub);
  const cdnAddress = await listen(cdn);

  return {
    endpoint,
    cdn: cdnAddress,
    requests,
    commit(repoId, files, options = {}) {
      let repo = repos.get(repoId);
      if (!repo) repos.set(repoId, (repo = { refs: new Map(), commits: new Map() }));
      const stored = new Map<string, StoredFile>();
      const hash = createHash('sha1').update(`${repoId}\0${commitCount++}`);
      for (const [path, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
        const file = storeFile(typeof content === 'string' ? new TextEncoder().encode(content) : content);
        stored.set(path, file);
        if (file.lfs) blobs.set(file.sha256, file);
        hash.update(`${path}\0${file.gitOid}\0`);
      }
      const sha = hash.digest('hex');
      repo.commits.set(sha, stored);
      repo.refs.set(options.branch ?? 'main', sha);
      return sha;
    },
    tag(repoId, name, commit) {
      repos.get(repoId)!.refs.set(name, commit);
    },
    rename(oldId, repoId) {
      aliases.set(oldId, repoId);
    },
    fail(fault) {
      faults.push(fault);
    },
    protect(repoId, token) {
      repos.get(repoId)!.token = token;
    },
    async close() {
      for (const server of [hub, cdn]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
