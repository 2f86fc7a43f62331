import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { JSON_SCHEMA_VERSION, OptionError } from '@icot/core';

/** One of the two regions a rating shows: the patches one strategy chose at the step. */
export interface RatedRegion {
  /** The strategy, as the page names it (e.g. `ads`, `random`); never shown to the rater. */
  readonly strategy: string;
  /** The run options of that side (selector, decoder, trigger, k ...). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Selected patch indices of the query image, ascending. */
  readonly selected: readonly number[];
}

/** What the page sends: two regions for one reasoning step, shown in this order, and the choice. */
export interface RatingInput {
  readonly model: string;
  readonly question: string;
  /** The query image: its name, sha256 (hex) and size. */
  readonly image: { readonly name: string; readonly sha256: string; readonly width: number; readonly height: number };
  /** Generation step of the insertion (-1: right after the prompt). */
  readonly step: number;
  /** The reasoning step's text the rater saw. */
  readonly stepText: string;
  /** The two regions, first = shown as "region 1" (left), second = "region 2" (right). */
  readonly regions: readonly [RatedRegion, RatedRegion];
  /** Which region the person found more relevant; `neither` when they could not tell. */
  readonly choice: 'first' | 'second' | 'neither';
  /** Where it was rated: `server` or `browser` (IndexedDB). */
  readonly source?: 'server' | 'browser';
}

/** A stored rating: one line of `ratings.jsonl`. */
export interface RatingRecord extends RatingInput {
  readonly schemaVersion: number;
  readonly id: string;
  /** ISO 8601 time the rating was stored. */
  readonly createdAt: string;
  /** The strategy of the region chosen (null for `neither`). */
  readonly preferred: string | null;
}

/** Largest rating request body, bytes. */
export const MAX_RATING_BYTES = 256 * 1024;

function fail(message: string): never {
  throw new OptionError(`Invalid rating: ${message}.`, { hint: 'Send the JSON the page sends: model, question, image {name, sha256, width, height}, step, stepText, regions [2], choice.' });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, what: string, max = 64 * 1024): string {
  if (typeof value !== 'string' || value.length > max) fail(`${what} must be a string of at most ${max} characters`);
  return value;
}

function count(value: unknown, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) fail(`${what} must be an integer >= ${min}`);
  return value as number;
}

function region(value: unknown, what: string): RatedRegion {
  if (!isObject(value)) fail(`${what} must be an object`);
  const selected = value['selected'];
  if (!Array.isArray(selected) || selected.length === 0 || selected.length > 100_000) fail(`${what}.selected must be a non-empty list of patch indices`);
  selected.forEach((index, i) => count(index, `${what}.selected[${i}]`, 0));
  const options = value['options'] ?? {};
  if (!isObject(options)) fail(`${what}.options must be an object`);
  return { strategy: text(value['strategy'], `${what}.strategy`, 200), options, selected: selected as number[] };
}

/** Check a rating from a request (throws OptionError -> 400) and keep only the known fields. */
export function checkRating(value: unknown): RatingInput {
  if (!isObject(value)) fail('the body must be a JSON object');
  const image = value['image'];
  if (!isObject(image)) fail('image must be an object');
  const sha256 = text(image['sha256'], 'image.sha256', 64);
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail('image.sha256 must be 64 lowercase hex digits');
  const regions = value['regions'];
  if (!Array.isArray(regions) || regions.length !== 2) fail('regions must hold exactly two regions');
  const choice = value['choice'];
  if (choice !== 'first' && choice !== 'second' && choice !== 'neither') fail("choice must be 'first', 'second' or 'neither'");
  const source = value['source'];
  if (source !== undefined && source !== 'server' && source !== 'browser') fail("source must be 'server' or 'browser'");
  const step = value['step'];
  if (!Number.isSafeInteger(step) || (step as number) < -1) fail('step must be an integer >= -1');
  return {
    model: text(value['model'], 'model', 400),
    question: text(value['question'], 'question'),
    image: { name: text(image['name'], 'image.name', 400), sha256, width: count(image['width'], 'image.width', 1), height: count(image['height'], 'image.height', 1) },
    step: step as number,
    stepText: text(value['stepText'], 'stepText'),
    regions: [region(regions[0], 'regions[0]'), region(regions[1], 'regions[1]')],
    choice,
    ...(source !== undefined ? { source } : {}),
  };
}

/** The record stored for a checked rating: id, time, schema version and the preferred strategy added. */
export function ratingRecord(input: RatingInput, now: Date = new Date()): RatingRecord {
  const preferred = input.choice === 'neither' ? null : input.regions[input.choice === 'first' ? 0 : 1].strategy;
  return { schemaVersion: JSON_SCHEMA_VERSION, id: randomUUID(), createdAt: now.toISOString(), ...input, preferred };
}

/**
 * Ratings as an append-only JSON Lines file (`<dir>/ratings.jsonl`): each rating is one line,
 * appended (O_APPEND) and flushed to disk (fdatasync) before the request is answered; writes from
 * one server are serialised, lines are never rewritten.
 */
export class RatingStore {
  readonly file: string;
  private writes: Promise<unknown> = Promise.resolve();
  private handle: Promise<FileHandle> | undefined;

  constructor(readonly dir: string) {
    this.file = join(dir, 'ratings.jsonl');
  }

  /** Create the folder and open the file (at start, so a bad --data-dir fails at once). */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.handle ??= open(this.file, 'a', 0o644);
    await this.handle;
  }

  /** Append one record; resolves once it is on disk. */
  append(record: RatingRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    const write = this.writes.then(async () => {
      await this.open();
      const handle = await this.handle!;
      await handle.appendFile(line, 'utf8');
      await handle.datasync();
    });
    this.writes = write.catch(() => {});
    return write;
  }

  /** The file as it is now (empty when nothing was rated yet). */
  async read(): Promise<{ readonly size: number; readonly stream: () => Readable }> {
    await this.writes;
    const size = await stat(this.file).then((s) => s.size, () => 0);
    // only whole lines: the bytes there were before streaming (call stream() only when size > 0)
    return { size, stream: () => createReadStream(this.file, { start: 0, end: size - 1 }) };
  }

  /** Close the file. */
  async close(): Promise<void> {
    await this.writes;
    const handle = await this.handle?.catch(() => undefined);
    this.handle = undefined;
    await handle?.close();
  }
}
