/**
 * The files of a run's output folder, written so that a crash, Ctrl-C or kill -9 at any moment
 * loses at most the sample in progress: results are appended one line per sample and flushed to
 * disk (fsync) before the next sample starts; a line cut short by a crash is cut off when the run
 * resumes; run files are replaced atomically (write, fsync, rename).
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EvalDataError } from './errors.js';
import { idText, isObject } from './jsonl.js';

/** A results line as written: a finished sample (`prediction`, ...) or a failed one (`error`). */
export type ResultRecord = Readonly<Record<string, unknown>> & { readonly id: string };

/** What a results file held when it was opened. */
export interface ResultsState {
  /** Finished samples by id (the first line of an id; later ones are counted in `duplicates`). */
  readonly done: ReadonlyMap<string, ResultRecord>;
  /** Failed samples by id (the last error line of an id that has no finished line). */
  readonly failed: ReadonlyMap<string, ResultRecord>;
  /** Lines of ids that already had a finished line (two processes ran the same shard at once). */
  readonly duplicates: number;
  /** The cut-off last line, when there was one: its 1-based line number and its bytes. */
  readonly repaired: { readonly line: number; readonly bytes: number } | null;
}

async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // some file systems cannot fsync a folder; the rename is still atomic
  } finally {
    await handle?.close();
  }
}

function parseLines(text: string, file: string): { done: Map<string, ResultRecord>; failed: Map<string, ResultRecord>; duplicates: number } {
  const done = new Map<string, ResultRecord>();
  const failed = new Map<string, ResultRecord>();
  let duplicates = 0;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new EvalDataError(`${file} line ${i + 1} is not JSON (${(error as Error).message}).`, {
        hint: 'Results files are written by icot eval run one whole line at a time; only a cut-off last line is repaired. Fix or remove that line, or start a new output folder.',
        location: { file, line: i + 1 },
      });
    }
    const id = isObject(value) ? idText(value['id']) : undefined;
    if (!isObject(value) || id === undefined)
      throw new EvalDataError(`${file} line ${i + 1} is not a result (a JSON object with an "id").`, { hint: 'Use a separate output folder for each run.', location: { file, line: i + 1 } });
    const record = { ...value, id } as ResultRecord;
    if (value['error'] !== undefined) {
      if (!done.has(id)) failed.set(id, record);
    } else if (done.has(id)) duplicates++;
    else {
      done.set(id, record);
      failed.delete(id);
    }
  });
  return { done, failed, duplicates };
}

/**
 * A results file opened for appending. Opening repairs a last line cut short (the file is
 * truncated after its last newline, and that is flushed) and reads which samples are done and
 * which failed. {@link ResultsFile.append} writes one line and fsyncs it before returning.
 */
export class ResultsFile {
  private constructor(
    /** The file's path. */
    readonly path: string,
    private handle: FileHandle,
    /** What the file held when opened. */
    readonly state: ResultsState,
  ) {}

  /** Open (creating it if needed) the results file at `path`; see the class note. */
  static async open(path: string): Promise<ResultsFile> {
    const handle = await open(path, 'a+');
    try {
      const bytes = await readFile(handle);
      let repaired: ResultsState['repaired'] = null;
      let text = bytes.toString('utf8');
      if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) {
        const keep = bytes.lastIndexOf(0x0a) + 1;
        repaired = { line: text.slice(0, keep).split('\n').length, bytes: bytes.length - keep };
        await handle.truncate(keep);
        await handle.sync();
        text = bytes.subarray(0, keep).toString('utf8');
      }
      const parsed = parseLines(text, path);
      return new ResultsFile(path, handle, { ...parsed, repaired });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Append `record` as one JSON line and flush it to disk. */
  async append(record: ResultRecord): Promise<void> {
    await this.handle.write(`${JSON.stringify(record)}\n`);
    await this.handle.sync();
  }

  /**
   * Remove the error lines of `ids` (samples about to be retried), so the file never holds two
   * lines of one sample: the file is rewritten without them beside the original, flushed, and
   * renamed over it.
   */
  async dropFailed(ids: ReadonlySet<string>): Promise<void> {
    if (ids.size === 0) return;
    const text = (await readFile(this.path)).toString('utf8');
    const kept = text
      .split('\n')
      .filter((raw) => {
        if (raw.trim() === '') return false;
        const value = JSON.parse(raw) as Record<string, unknown>;
        return !(value['error'] !== undefined && ids.has(idText(value['id'])!));
      })
      .map((raw) => `${raw}\n`)
      .join('');
    const temporary = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    const out = await open(temporary, 'w');
    try {
      await out.write(kept);
      await out.sync();
    } finally {
      await out.close();
    }
    await this.handle.close();
    await rename(temporary, this.path);
    await syncFolder(dirname(this.path));
    this.handle = await open(this.path, 'a');
  }

  /** Close the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Write `value` as JSON to `path` atomically: a temporary file beside it, fsync, rename, fsync of the folder. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.write(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncFolder(dirname(path));
}

/** The JSON in `path`, or undefined when there is no such file. A file that is not JSON is an {@link EvalDataError}. */
export async function readJsonIfPresent(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EvalDataError(`${path} is not JSON (${(error as Error).message}).`, { hint: 'Run files are written by icot eval run atomically; restore it or use a new output folder.', location: { file: path } });
  }
}

/** The sha256 (hex) and size of a file. */
export async function hashFile(path: string): Promise<{ readonly sha256: string; readonly bytes: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(path)).size };
}
