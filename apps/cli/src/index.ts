/**
 * The `icot` command line, also callable in-process (for tests and embedding).
 * @module
 */
export { main } from './main.js';
export { parseRunOptions, RUN_HELP, type RunOptions } from './options.js';
export { runCommand, type CommandIo } from './run.js';
export { renderReport, type ReportInput } from './report.js';
export { cacheCommand, CACHE_HELP } from './cache.js';
export { createDownloadProgress, formatBytes, formatDuration, type DownloadProgressLike, type ProgressDisplayOptions } from './progress.js';
