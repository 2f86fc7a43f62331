/**
 * Errors as plain data, to cross a process or worker boundary (a child process, a Web Worker) and
 * come back as the same typed error.
 * @module
 */
import {
  AbortedError,
  AttentionUnavailableError,
  IcotError,
  ImageError,
  ModelConfigError,
  ModelFilesError,
  NetworkError,
  OptionError,
  PromptError,
  SelectionError,
  type IcotErrorCode,
  type IcotErrorOptions,
} from './errors.js';

/** An error as it crosses the process boundary: plain data. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Set for {@link IcotError}s. */
  readonly code?: IcotErrorCode;
  readonly hint?: string | undefined;
  /** {@link ModelFilesError}'s missing files. */
  readonly missing?: readonly string[];
  /** {@link NetworkError}'s HTTP status. */
  readonly status?: number;
}

/** Turn any thrown value into plain data (keeps an IcotError's code, hint, missing files and HTTP status). */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined };
  const wire: WireError = { name: error.name, message: error.message, stack: error.stack };
  if (!IcotError.is(error)) return wire;
  return {
    ...wire,
    code: error.code,
    hint: error.hint,
    ...(Array.isArray((error as { missing?: unknown }).missing) ? { missing: [...(error as ModelFilesError).missing] } : {}),
    ...(typeof (error as { status?: unknown }).status === 'number' ? { status: (error as NetworkError).status! } : {}),
  };
}

const CLASSES: Partial<Record<IcotErrorCode, new (message: string, options: IcotErrorOptions) => IcotError>> = {
  'model-config': ModelConfigError,
  'attention-unavailable': AttentionUnavailableError,
  'image-unreadable': ImageError,
  'invalid-selection': SelectionError,
  'invalid-prompt': PromptError,
  'invalid-option': OptionError,
  aborted: AbortedError,
};

/**
 * Rebuild an error sent by {@link toWireError}: IcotErrors come back as the same subclass (so
 * `instanceof` and `code` work), with the remote stack trace.
 */
export function fromWireError(wire: WireError): Error {
  let error: Error;
  if (wire.code === undefined) {
    error = new Error(wire.message);
    error.name = wire.name;
  } else {
    const options = wire.hint === undefined ? {} : { hint: wire.hint };
    if (wire.code === 'model-files') error = new ModelFilesError(wire.message, { ...options, missing: wire.missing ?? [] });
    else if (wire.code === 'network') error = new NetworkError(wire.message, { ...options, ...(wire.status !== undefined ? { status: wire.status } : {}) });
    else {
      const Class = CLASSES[wire.code];
      error = Class ? new Class(wire.message, options) : new IcotError(wire.code, wire.message, options);
    }
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}
