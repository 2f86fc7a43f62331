/** Progress of one hub file: downloading, or found in the cache. */
export interface DownloadProgress {
  /** Repository id (`org/name`). */
  readonly repo: string;
  /** File path in the repository. */
  readonly file: string;
  /** Bytes on disk so far (including bytes resumed from an earlier, interrupted download). */
  readonly loaded: number;
  /** File size, when the server says. */
  readonly total: number | undefined;
  /** Whether the file came from the cache (no download). */
  readonly cached: boolean;
  /** Bytes per second over the last few seconds (0 until measured). */
  readonly rate: number;
  /** Seconds left at that rate, when the size and the rate are known. */
  readonly etaSeconds: number | undefined;
  /** Bytes that were already on disk when this download resumed (0 for a fresh download). */
  readonly resumedFrom: number;
  /** Whether this is the file's last report (downloaded, or found in the cache). */
  readonly done: boolean;
}

/** Receives download progress; called at most every 100 ms per file, plus once when a file is done. */
export type ProgressListener = (progress: DownloadProgress) => void;

const WINDOW_MS = 5_000;
const REPORT_INTERVAL_MS = 100;

/**
 * Transfer rate over a sliding window of recent samples, for progress reports. `now` is injectable
 * for tests.
 */
export class TransferRate {
  private readonly samples: { time: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Record that `loaded` bytes are done at this moment; returns the rate in bytes per second. */
  update(loaded: number): number {
    const time = this.now();
    this.samples.push({ time, bytes: loaded });
    while (this.samples.length > 2 && time - this.samples[1]!.time > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const elapsed = time - first.time;
    return elapsed > 0 ? ((loaded - first.bytes) * 1000) / elapsed : 0;
  }
}

/** Turns byte counts of one file into throttled {@link DownloadProgress} reports. */
export class ProgressReporter {
  private readonly rate = new TransferRate();
  private lastReport = -Infinity;
  private lastRate = 0;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly base: { readonly repo: string; readonly file: string; readonly total: number | undefined; readonly resumedFrom: number },
  ) {}

  /** Report `loaded` bytes (throttled unless `done`). */
  report(loaded: number, done = false): void {
    if (!this.listener) return;
    const now = performance.now();
    this.lastRate = this.rate.update(loaded);
    if (!done && now - this.lastReport < REPORT_INTERVAL_MS) return;
    this.lastReport = now;
    const { total } = this.base;
    const etaSeconds = done ? 0 : total !== undefined && this.lastRate > 0 ? Math.max(0, (total - loaded) / this.lastRate) : undefined;
    this.listener({ ...this.base, loaded, cached: false, rate: this.lastRate, etaSeconds, done });
  }
}
