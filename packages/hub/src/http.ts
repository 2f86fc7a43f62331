import { NetworkError, throwIfAborted } from '@icot/core';

/** How requests are made. */
export interface HttpSettings {
  /** fetch implementation (default the global one). */
  readonly fetch?: typeof fetch;
  /** Cancels every request; requests then fail with `AbortedError`. */
  readonly signal?: AbortSignal;
  /** A request fails when the server sends nothing (headers or body bytes) for this long. */
  readonly stallTimeoutMs: number;
  /** Bearer token, sent to `tokenOrigin` only (never to a CDN a file redirects to). */
  readonly token?: string;
  readonly tokenOrigin: string;
}

/** A response whose body is read with the stall timer running. */
export interface OpenResponse {
  readonly response: Response;
  /** The body, chunk by chunk; fails with `NetworkError` on a stall or a dropped connection. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Drop the rest of the body and release the connection. */
  close(): void;
}

const STALL_HINT = 'The server stopped sending data. Run the command again (downloads resume where they stopped), or allow longer pauses with HF_HUB_DOWNLOAD_TIMEOUT (seconds).';
const UNREACHABLE_HINT = 'Check the network connection and HF_ENDPOINT, or use a model that is already cached with network use off (--offline / localFilesOnly).';
const DROPPED_HINT = 'Run the command again: downloads resume where they stopped.';

function describeCause(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const code = (cause as { code?: unknown })?.code ?? (error as { code?: unknown })?.code;
  const message = (cause as Error)?.message ?? (error as Error)?.message ?? String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * HTTP for the hub: every request runs under a stall timer (no headers or body bytes for
 * `stallTimeoutMs` fails it with a {@link NetworkError}), the caller's AbortSignal (which fails
 * it with `AbortedError`), and the token goes to the hub's own origin only.
 */
export class HubHttp {
  constructor(readonly settings: HttpSettings) {}

  /** Send a request; resolves once the response headers arrived. `what` names it in errors. */
  async open(url: string, init: { method?: string; headers?: Record<string, string>; redirect?: RequestRedirect }, what: string): Promise<OpenResponse> {
    const { signal, stallTimeoutMs } = this.settings;
    throwIfAborted(signal);
    const target = new URL(url);
    const headers: Record<string, string> = { 'user-agent': 'icot-hub', ...init.headers };
    if (this.settings.token && target.origin === this.settings.tokenOrigin) headers['authorization'] = `Bearer ${this.settings.token}`;
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let stalled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        controller.abort(new Error('stalled'));
      }, stallTimeoutMs);
    };
    const disarm = (): void => clearTimeout(timer);
    const finish = (): void => {
      disarm();
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: unknown, phase: 'connect' | 'body'): never => {
      finish();
      throwIfAborted(signal);
      if (stalled)
        throw new NetworkError(`${what}: ${target.host} sent nothing for ${seconds(stallTimeoutMs)}.`, { hint: STALL_HINT, cause: error });
      if (phase === 'connect') throw new NetworkError(`${what}: cannot reach ${target.host} (${describeCause(error)}).`, { hint: UNREACHABLE_HINT, cause: error });
      throw new NetworkError(`${what}: the connection to ${target.host} dropped (${describeCause(error)}).`, { hint: DROPPED_HINT, cause: error });
    };
    arm();
    let response: Response;
    try {
      response = await (this.settings.fetch ?? fetch)(url, { method: init.method ?? 'GET', headers, redirect: init.redirect ?? 'follow', signal: controller.signal });
    } catch (error) {
      return fail(error, 'connect');
    }
    disarm();
    return {
      response,
      async *chunks() {
        const reader = response.body?.getReader();
        try {
          if (!reader) return;
          while (true) {
            arm();
            let part: ReadableStreamReadResult<Uint8Array>;
            try {
              part = await reader.read();
            } catch (error) {
              return fail(error, 'body');
            }
            disarm();
            if (part.done) return;
            yield part.value;
          }
        } finally {
          finish();
          if (reader) reader.cancel().catch(() => {});
        }
      },
      close() {
        finish();
        response.body?.cancel().catch(() => {});
      },
    };
  }

  /** Read a whole (small) response body under the stall timer. */
  async text(open: OpenResponse): Promise<string> {
    const parts: Uint8Array[] = [];
    for await (const chunk of open.chunks()) parts.push(chunk);
    return Buffer.concat(parts).toString('utf8');
  }

  /**
   * A `fetch` for `@huggingface/hub` calls: the same stall timer, abort signal and token rules,
   * with the body read in full before the response is handed over.
   */
  readonly libraryFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const open = await this.open(url, { method: init?.method ?? 'GET', headers }, `Asking ${new URL(url).host} about ${new URL(url).pathname}`);
    const parts: Uint8Array[] = [];
    for await (const chunk of open.chunks()) parts.push(chunk);
    const { status, statusText } = open.response;
    const body = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(parts);
    return new Response(body, { status, statusText, headers: open.response.headers });
  };
}
