import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AbortedError, NetworkError, throwIfAborted } from '@icot/core';
import type { HubHttp } from './http.js';
import type { ProgressReporter } from './progress.js';

/** One blob to download into the hub cache. */
export interface BlobDownload {
  readonly http: HubHttp;
  /** Where the bytes are (the hub's resolve address, or the CDN it redirects to). */
  readonly url: string;
  /** `blobs/<etag>`; bytes go to `blobs/<etag>.incomplete` first. */
  readonly blobPath: string;
  /** Lock file that keeps two icot processes from writing the same blob. */
  readonly lockPath: string;
  readonly etag: string;
  /** Expected size, when the hub said. */
  readonly size: number | undefined;
  /** Retries after a dropped or stalled connection that had delivered data (or a 5xx answer). */
  readonly retries: number;
  readonly signal?: AbortSignal;
  /** Names the download in errors. */
  readonly what: string;
  /** Progress for the download, given the offset it resumes from. */
  readonly reporter: (resumedFrom: number) => ProgressReporter;
}

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 5_000;
const LOCK_POLL_MS = 200;

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal);
      } catch (error) {
        reject(error);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take an exclusive lock file holding this process id; a lock whose process is gone is taken
 * over. Waits (cancellably) while another live process holds it. Returns the release function.
 */
export async function acquireLock(path: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true });
  while (true) {
    throwIfAborted(signal);
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) ? !isAlive(holder) : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > 10_000) {
      await rm(path, { force: true });
      continue;
    }
    await sleep(LOCK_POLL_MS, signal);
  }
}

async function hashPrefix(path: string, hash: Hash, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
}

/** Whether an error is worth a retry (the server was there and may answer again). */
function retryable(error: unknown, answered: boolean): boolean {
  if (!(error instanceof NetworkError)) return false;
  if (error.status !== undefined) return error.status >= 500;
  return answered;
}

/**
 * Download a blob the way huggingface_hub does: into `<blob>.incomplete`, resumed from its
 * current size with a `Range` request (a server that ignores the range restarts it), then renamed
 * to the blob. Dropped or stalled connections that had delivered data are retried from the new
 * offset; files whose etag is a sha256 (LFS files) are checked against it before the rename.
 */
export async function downloadBlob(job: BlobDownload): Promise<void> {
  const release = await acquireLock(job.lockPath, job.signal);
  try {
    if ((await fileSize(job.blobPath)) !== undefined) return; // another process finished it meanwhile
    await mkdir(dirname(job.blobPath), { recursive: true });
    const partial = `${job.blobPath}.incomplete`;
    let offset = (await fileSize(partial)) ?? 0;
    if (job.size !== undefined && offset > job.size) {
      await truncate(partial, 0);
      offset = 0;
    }
    const verify = /^[0-9a-f]{64}$/.test(job.etag);
    let hash = verify ? createHash('sha256') : undefined;
    if (hash) await hashPrefix(partial, hash, offset);
    const reporter = job.reporter(offset);
    reporter.report(offset);
    let failures = 0;
    while (job.size === undefined || offset < job.size) {
      let answered = false;
      try {
        const request = await job.http.open(job.url, { headers: { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) } }, job.what);
        answered = true;
        const { status, headers } = request.response;
        if (status === 416 && offset > 0) {
          request.close();
          if (job.size === undefined) break; // the partial file already holds every byte
          await truncate(partial, 0); // a partial file the server does not recognise: start over
          offset = 0;
          hash = verify ? createHash('sha256') : undefined;
          continue;
        }
        let append = offset > 0;
        if (status === 206) {
          const start = Number(/^bytes (\d+)-/.exec(headers.get('content-range') ?? '')?.[1]);
          if (start !== offset) {
            request.close();
            throw new NetworkError(`${job.what}: the server resumed at byte ${start}, not ${offset}.`, { hint: 'Run the command again.' });
          }
        } else if (status === 200) {
          append = false; // the server sent the whole file: start over
          offset = 0;
          hash = verify ? createHash('sha256') : undefined;
        } else {
          request.close();
          throw new NetworkError(`${job.what}: the server answered HTTP ${status}.`, { status, hint: status >= 500 ? 'The server has a problem; try again later.' : 'Check the model id, revision and HF_TOKEN.' });
        }
        const before = offset;
        const file = await open(partial, append ? 'a' : 'w');
        try {
          for await (const chunk of request.chunks()) {
            await file.write(chunk);
            hash?.update(chunk);
            offset += chunk.length;
            reporter.report(offset);
          }
        } finally {
          await file.close();
          if (offset > before) failures = 0; // progress: the retry budget starts afresh
        }
        if (job.size === undefined) break;
        if (offset < job.size) throw new NetworkError(`${job.what}: the server ended the file after ${offset} of ${job.size} bytes.`, { hint: 'Run the command again: downloads resume where they stopped.' });
      } catch (error) {
        if (error instanceof AbortedError) throw error;
        if (!retryable(error, answered) || failures >= job.retries) throw error;
        failures += 1;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failures - 1)), job.signal);
      }
    }
    if (job.size !== undefined && offset !== job.size) {
      await rm(partial, { force: true });
      throw new NetworkError(`${job.what}: got ${offset} bytes, expected ${job.size}.`, { hint: 'Run the command again to download the file afresh.' });
    }
    if (hash) {
      const digest = hash.digest('hex');
      if (digest !== job.etag) {
        await rm(partial, { force: true });
        throw new NetworkError(`${job.what}: the downloaded bytes have sha256 ${digest}, not ${job.etag}.`, {
          hint: 'The download was corrupted (or the server sent another file); run the command again to download it afresh.',
        });
      }
    }
    await rename(partial, job.blobPath);
    reporter.report(offset, true);
  } finally {
    await release();
  }
}
