/**
 * The Hugging Face hub client of icot (Node): revisions resolved to commits, files downloaded into
 * the cache layout huggingface_hub (Python) uses - so caches are shared with Python tools - with
 * resumable downloads, progress (bytes, rate, ETA), stall timeouts, retries and cancellation;
 * plus icot's own cache (tapped model copies, scratch folders).
 * @module
 */
export { HubRepository, type FileMetadata, type HubOptions, type ResolvedRevision } from './repository.js';
export { ProgressReporter, TransferRate, type DownloadProgress, type ProgressListener } from './progress.js';
export { HubHttp, type HttpSettings, type OpenResponse } from './http.js';
export { acquireLock, downloadBlob, type BlobDownload } from './download.js';
export { removeCachedRepo, scanCachedRepo, scanHubCache, type CachedRepo, type CachedRevision } from './hub-cache.js';
export {
  createScratchFolder,
  findTappedCopy,
  linkRealFile,
  listTappedCopies,
  removeTappedCopies,
  scratchDir,
  storeTappedCopy,
  sweepScratchFolders,
  sweepTappedCopies,
  tappedCopiesDir,
  TAPPED_COPY_MAX_IDLE_MS,
  type ScratchFolder,
  type TappedCopyInfo,
  type TappedCopySource,
} from './icot-cache.js';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_STALL_TIMEOUT_MS,
  hubCacheDir,
  hubEndpoint,
  hubToken,
  icotCacheDir,
  isCommitHash,
  isHubId,
  offlineByEnvironment,
  repoFolderName,
  stallTimeoutMs,
} from './locations.js';
