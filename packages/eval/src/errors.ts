import { IcotError, ImageError, type IcotErrorOptions } from '@icot/core';

/** Where a bad record is: the file, its 1-based line (JSONL) and the record's id, when known. */
export interface RecordLocation {
  /** The file as the caller named it (a dataset file or a predictions file). */
  readonly file?: string;
  /** 1-based line of a JSONL file. */
  readonly line?: number;
  /** The record's id (M3CoT / ScienceQA id, LLaVA question_id), when it has one. */
  readonly id?: string;
}

/**
 * A dataset or predictions file is missing, not the published layout, or holds a malformed record
 * (a missing or mistyped field, a duplicate id, an answer outside the choices). Code
 * `invalid-data`; `location` names the file, line and record.
 */
export class EvalDataError extends IcotError {
  /** The file, line and record id the problem is in. */
  readonly location: RecordLocation;
  constructor(message: string, options: IcotErrorOptions & { location?: RecordLocation } = {}) {
    super('invalid-data', message, options);
    this.location = options.location ?? {};
  }
}

/**
 * A dataset record's image file is not where the published layout puts it (code
 * `image-unreadable`, as every unreadable image). `path` is the file that was looked for.
 */
export class MissingImageError extends ImageError {
  /** The record whose image is missing. */
  readonly location: RecordLocation;
  /** The image file that was looked for. */
  readonly path: string;
  constructor(message: string, options: IcotErrorOptions & { location: RecordLocation; path: string }) {
    super(message, options);
    this.location = options.location;
    this.path = options.path;
  }
}
