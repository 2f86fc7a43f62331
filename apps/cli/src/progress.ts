/**
 * Download progress for the terminal. On an interactive stderr one line per file is redrawn in
 * place (bytes, total, percent, rate, time left); otherwise plain lines now and then (a file's
 * start, every 10 s, its end) so logs stay short. Nothing under --quiet; never stdout.
 * @module
 */

/** One progress report: `@icot/hub`'s `DownloadProgress`, or the runner's `download` event (rate and ETA are then measured here). */
export interface DownloadProgressLike {
  readonly file: string;
  readonly loaded: number;
  readonly total?: number | undefined;
  /** Found in the cache: nothing is shown. */
  readonly cached?: boolean;
  /** Bytes per second, when the reporter measured it. */
  readonly rate?: number;
  readonly etaSeconds?: number | undefined;
  /** The file's last report (else: when `loaded` reaches `total`). */
  readonly done?: boolean;
}

/** Where and how progress is shown. */
export interface ProgressDisplayOptions {
  /** Normally process.stderr. */
  readonly stream: NodeJS.WritableStream & { readonly columns?: number };
  /** Redraw one line in place (a TTY) or print occasional plain lines. */
  readonly interactive: boolean;
  /** Show nothing. */
  readonly quiet?: boolean;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

const REDRAW_MS = 100;
const PLAIN_LINE_MS = 10_000;
const RATE_WINDOW_MS = 5_000;

/** `1.5 kB`, `12.3 MB`, `1.20 GB` (decimal units, as huggingface_hub's progress bars). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${units[unit]}`;
}

/** `42s`, `3m07s`, `1h05m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

interface FileState {
  readonly started: number;
  readonly firstLoaded: number;
  samples: { time: number; loaded: number }[];
  lastShown: number;
}

/**
 * A progress display: call the returned function with each report (e.g. the `download` events of
 * `icot run`). Rate and ETA come from the report when it has them, else from the reports' timing.
 */
export function createDownloadProgress(options: ProgressDisplayOptions): (progress: DownloadProgressLike) => void {
  if (options.quiet) return () => {};
  const now = options.now ?? (() => performance.now());
  const files = new Map<string, FileState>();

  const rateOf = (state: FileState, report: DownloadProgressLike, time: number): number => {
    state.samples.push({ time, loaded: report.loaded });
    while (state.samples.length > 2 && time - state.samples[1]!.time > RATE_WINDOW_MS) state.samples.shift();
    if (report.rate !== undefined && report.rate > 0) return report.rate;
    const first = state.samples[0]!;
    return time > first.time ? ((report.loaded - first.loaded) * 1000) / (time - first.time) : 0;
  };

  const describe = (report: DownloadProgressLike, rate: number): string => {
    const parts = [report.total !== undefined ? `${formatBytes(report.loaded)} / ${formatBytes(report.total)}` : formatBytes(report.loaded)];
    if (report.total) parts.push(`${Math.floor((100 * report.loaded) / report.total)}%`);
    if (rate > 0) parts.push(`${formatBytes(rate)}/s`);
    const eta = report.etaSeconds ?? (report.total !== undefined && rate > 0 ? (report.total - report.loaded) / rate : undefined);
    if (eta !== undefined && report.loaded < (report.total ?? Infinity)) parts.push(`ETA ${formatDuration(eta)}`);
    return parts.join('  ');
  };

  const fit = (line: string): string => {
    const width = options.stream.columns;
    return width && line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line;
  };

  return (report) => {
    if (report.cached) return;
    const time = now();
    let state = files.get(report.file);
    const first = state === undefined;
    if (!state) files.set(report.file, (state = { started: time, firstLoaded: report.loaded, samples: [], lastShown: -Infinity }));
    const rate = rateOf(state, report, time);
    const done = report.done ?? (report.total !== undefined && report.loaded >= report.total);
    if (done) {
      files.delete(report.file);
      const seconds = (time - state.started) / 1000;
      const fetched = report.loaded - state.firstLoaded;
      const speed = seconds > 0 && fetched > 0 ? `, ${formatBytes(fetched / seconds)}/s` : '';
      const line = `icot: downloaded ${report.file} (${formatBytes(report.loaded)} in ${formatDuration(seconds)}${speed})`;
      options.stream.write(options.interactive ? `\r\x1b[K${fit(line)}\n` : `${line}\n`);
      return;
    }
    if (options.interactive) {
      if (!first && time - state.lastShown < REDRAW_MS) return;
      state.lastShown = time;
      options.stream.write(`\r\x1b[K${fit(`icot: downloading ${report.file}  ${describe(report, rate)}`)}`);
      return;
    }
    if (first) {
      state.lastShown = time;
      const resumed = report.loaded > 0 ? `, resuming at ${formatBytes(report.loaded)}` : '';
      options.stream.write(`icot: downloading ${report.file}${report.total !== undefined ? ` (${formatBytes(report.total)}${resumed})` : resumed ? ` (${resumed.slice(2)})` : ''}\n`);
      return;
    }
    if (time - state.lastShown < PLAIN_LINE_MS) return;
    state.lastShown = time;
    options.stream.write(`icot: ${report.file}  ${describe(report, rate)}\n`);
  };
}
