import { NetworkError, OptionError, type IcotError } from '@icot/core';

/**
 * A request the server answers with an HTTP error status and the shared JSON error document
 * (`errorDocument` of `@icot/core`): the status, the typed error, extra headers, and whether the
 * connection is closed after the answer (a body the server will not read).
 */
export class RequestRefusal {
  constructor(
    readonly status: number,
    readonly error: IcotError,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly closeConnection = false,
  ) {}
}

/** 413 for a request body above the limit; the connection is closed, the rest of the body never read. */
export function uploadTooLarge(bytes: number | undefined, limit: number): RequestRefusal {
  const size = bytes === undefined ? '' : ` ${bytes} bytes,`;
  return new RequestRefusal(
    413,
    new OptionError(`The upload is${size} over this server's limit of ${limit} bytes (${(limit / 1024 / 1024).toFixed(1)} MiB) for a request body.`, {
      hint: 'Send a smaller image (e.g. re-encode it as JPEG or scale it down), or start the server with a larger --max-upload-bytes.',
    }),
    {},
    true,
  );
}

/** 503: the model's queue is full. */
export function busy(model: string, waiting: number, retryAfterSeconds: number): RequestRefusal {
  return new RequestRefusal(
    503,
    new NetworkError(`The server is busy: model '${model}' runs one run at a time and ${waiting} more ${waiting === 1 ? 'is' : 'are'} waiting, as many as its queue holds.`, {
      status: 503,
      hint: `Retry after ${retryAfterSeconds} s (the Retry-After header), or start the server with a larger --queue.`,
    }),
    { 'retry-after': String(retryAfterSeconds) },
    true,
  );
}

/** 400 (or another status) with an OptionError. */
export function badRequest(message: string, hint: string, status = 400): RequestRefusal {
  return new RequestRefusal(status, new OptionError(message, { hint }));
}

/** 503: as many run requests are being received, waiting or running as all queues hold together (checked before any body is read). */
export function serverBusy(requests: number): RequestRefusal {
  return new RequestRefusal(
    503,
    new NetworkError(`The server is busy: ${requests} run requests are being received, waiting or running, as many as its queues hold.`, {
      status: 503,
      hint: 'Retry after 5 s (the Retry-After header), or start the server with a larger --queue.',
    }),
    { 'retry-after': '5' },
    true,
  );
}
