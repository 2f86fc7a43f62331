/**
 * Hub ids are fetched with `@icot/hub`: revisions resolved to commits and files downloaded into
 * the huggingface_hub cache layout (shared with Python tools and the transformers.js backend),
 * with resumable downloads, progress, stall timeouts and cancellation.
 */
export { HubRepository, hubCacheDir, isHubId, type DownloadProgress, type HubOptions } from '@icot/hub';
