import type { WebRunEvent } from '@icot/backend-web/client';
import type { ErrorPayload } from '@icot/core';
import type { RunEvent } from '@icot/runner';
import type { ServerRunEvent } from '../../src/server.js';

/** What a run streams to the page: the runner's events (server) or the web runner's (browser), the server's `accepted` / `queued`, or an error document. */
export type StreamEvent = RunEvent | WebRunEvent | ServerRunEvent | { readonly type: 'error'; readonly error: ErrorPayload; readonly status?: number };

/** The run options the page sends (the library's RunDescription names, without images, model location and prompt). */
export type RunOptionsJson = Record<string, unknown>;

/** One run: the image, the question, the options. */
export interface RunInput {
  readonly image: Blob;
  readonly imageName: string;
  readonly question: string;
  /** The served model's id (server) or `demo` (browser). */
  readonly model: string;
  readonly options: RunOptionsJson;
}

/** Where runs happen: the icot web server, or a Web Worker in this page. */
export interface RunBackend {
  readonly kind: 'server' | 'browser';
  /** Stream one run's events to `onEvent`; resolves when it ended (after `finish` or `error`). Aborting stops it. */
  run(input: RunInput, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<void>;
}

/**
 * Split a server-sent event stream (LF line ends, as icot web writes) into events (`event:` names the type, `data:` lines carry the
 * JSON; `:` lines are comments) and hand each parsed JSON to `onEvent`.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, onEvent: (event: StreamEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const flush = (block: string): void => {
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    }
    if (data.length) onEvent(JSON.parse(data.join('\n')) as StreamEvent);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      flush(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
  if (buffer.trim()) flush(buffer);
}

/** Runs on the icot web server: `POST api/runs` (multipart), events read from the response. */
export function serverBackend(): RunBackend {
  return {
    kind: 'server',
    async run(input, onEvent, signal) {
      const form = new FormData();
      form.append('question', input.question);
      form.append('options', JSON.stringify({ ...input.options, model: input.model }));
      form.append('image', input.image, input.imageName);
      let response: Response;
      try {
        response = await fetch('api/runs', { method: 'POST', body: form, signal });
      } catch (error) {
        if (signal.aborted) return;
        onEvent({ type: 'error', error: { code: 'network', message: `The server cannot be reached: ${(error as Error).message}`, hint: 'Is icot web still running?' } });
        return;
      }
      if (!response.ok || !response.body) {
        const document = (await response.json().catch(() => null)) as { error?: { code: string; message: string; hint: string | null } } | null;
        onEvent({
          type: 'error',
          status: response.status,
          error: (document?.error as never) ?? { code: 'network', message: `The server answered ${response.status} ${response.statusText}.`, hint: null },
        });
        return;
      }
      try {
        await readEventStream(response.body, onEvent);
      } catch (error) {
        if (!signal.aborted) onEvent({ type: 'error', error: { code: 'network', message: `The event stream broke off: ${(error as Error).message}`, hint: null } });
      }
    },
  };
}
