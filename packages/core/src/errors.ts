import type { CapabilityName } from './spec/model.js';

/** Machine-readable error codes of ICoT. */
export type IcotErrorCode =
  | 'model-files'
  | 'model-config'
  | 'attention-unavailable'
  | 'capability-unavailable'
  | 'image-unreadable'
  | 'invalid-selection'
  | 'invalid-prompt'
  | 'invalid-option'
  | 'invalid-data'
  | 'aborted'
  | 'network'
  | 'internal';

/** Options of {@link IcotError}. */
export interface IcotErrorOptions {
  /** How to fix the problem, in one sentence. */
  readonly hint?: string;
  readonly cause?: unknown;
}

/**
 * Base class of every error ICoT throws on purpose: a stable `code`, a message that names the
 * problem and a `hint` that names the fix.
 */
export class IcotError extends Error {
  readonly code: IcotErrorCode;
  readonly hint: string | undefined;

  constructor(code: IcotErrorCode, message: string, options: IcotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }

  /** Whether `value` is an IcotError (also across package copies). */
  static is(value: unknown): value is IcotError {
    return value instanceof IcotError || (value instanceof Error && typeof (value as { code?: unknown }).code === 'string' && 'hint' in value);
  }
}

/** A model folder or hub repository is missing files or holds unreadable ones. */
export class ModelFilesError extends IcotError {
  /** Files that were looked for and not found. */
  readonly missing: readonly string[];
  constructor(message: string, options: IcotErrorOptions & { missing?: readonly string[] } = {}) {
    super('model-files', message, options);
    this.missing = options.missing ?? [];
  }
}

/** A config file is present but describes something this version cannot run. */
export class ModelConfigError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('model-config', message, options);
  }
}

/** The decoder graph gives no usable attention, but the run needs it. */
export class AttentionUnavailableError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('attention-unavailable', message, options);
  }
}

/**
 * A strategy (selector, decoder, trigger) needs a capability the model does not declare (pixels,
 * forks, batched side runs, per-layer attention, KV-cache access). `capability` names it.
 */
export class CapabilityError extends IcotError {
  /** The missing capability, as named in `ModelCapabilities`. */
  readonly capability: CapabilityName;
  constructor(capability: CapabilityName, message: string, options: IcotErrorOptions = {}) {
    super('capability-unavailable', message, options);
    this.capability = capability;
  }
}

/** An image file could not be read or decoded. */
export class ImageError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('image-unreadable', message, options);
  }
}

/** A selection cannot be made as asked (e.g. k larger than the image). */
export class SelectionError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('invalid-selection', message, options);
  }
}

/** A prompt cannot be used (e.g. no image placeholder). */
export class PromptError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('invalid-prompt', message, options);
  }
}

/** An option has an invalid value. */
export class OptionError extends IcotError {
  constructor(message: string, options: IcotErrorOptions = {}) {
    super('invalid-option', message, options);
  }
}

/**
 * A server could not be reached, stopped answering, dropped the connection or answered with an
 * error status (hub downloads). `status` is the HTTP status when the server answered.
 */
export class NetworkError extends IcotError {
  readonly status: number | undefined;
  constructor(message: string, options: IcotErrorOptions & { status?: number } = {}) {
    super('network', message, options);
    this.status = options.status;
  }
}

/** The run was cancelled through its AbortSignal. */
export class AbortedError extends IcotError {
  constructor(message = 'The run was cancelled.', options: IcotErrorOptions = {}) {
    super('aborted', message, options);
  }
}

/** Throw {@link AbortedError} if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof AbortedError) throw reason;
    throw new AbortedError(
      reason instanceof Error && reason.name !== 'AbortError' ? `The run was cancelled: ${reason.message}` : 'The run was cancelled.',
      { cause: reason },
    );
  }
}

/**
 * Version of the shape of every JSON document icot writes (`icot run --json`, result and event
 * lines, the JSON error): documents carry it as `schemaVersion`; it changes when a field changes
 * meaning or disappears (new fields do not change it).
 */
export const JSON_SCHEMA_VERSION = 1;

/** An error as JSON carries it: the code, the message and the fix (`null` when there is none). */
export interface ErrorPayload {
  readonly code: IcotErrorCode;
  readonly message: string;
  readonly hint: string | null;
}

/**
 * The one JSON shape of an error, wherever JSON goes out (the CLI under `--json`, eval result
 * lines, the web API): `{"schemaVersion": 1, "error": {"code", "message", "hint"}}`. Errors that are
 * not {@link IcotError}s are bugs: code `internal`.
 */
export function errorDocument(error: unknown, fallbackHint?: string): { readonly schemaVersion: number; readonly error: ErrorPayload } {
  if (IcotError.is(error))
    return { schemaVersion: JSON_SCHEMA_VERSION, error: { code: error.code, message: error.message, hint: error.hint ?? fallbackHint ?? null } };
  const message = error instanceof Error ? error.message : String(error);
  return { schemaVersion: JSON_SCHEMA_VERSION, error: { code: 'internal', message, hint: fallbackHint ?? 'This is a bug in icot; rerun with --debug for the stack trace and report it.' } };
}
