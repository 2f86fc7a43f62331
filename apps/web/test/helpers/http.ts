import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { demoModel } from '@icot/demo-model';

/** The demo model's image (224 x 224 PNG). */
export const demoImage = readFileSync(demoModel.image);

/** One server-sent event: its `event:` name and its parsed `data:` JSON. */
export interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown> & { readonly type: string };
}

/** POST /api/runs with the demo image (or `image`), a question and options. */
export function postRun(
  url: string,
  fields: { readonly options?: unknown; readonly question?: string; readonly image?: Uint8Array | null; readonly imageName?: string },
  init: { readonly headers?: Record<string, string>; readonly signal?: AbortSignal } = {},
): Promise<Response> {
  const form = new FormData();
  if (fields.question !== undefined || !('question' in fields)) form.append('question', fields.question ?? 'What is in the picture?');
  if (fields.options !== undefined) form.append('options', typeof fields.options === 'string' ? fields.options : JSON.stringify(fields.options));
  if (fields.image !== null) form.append('image', new Blob([new Uint8Array(fields.image ?? demoImage)]), fields.imageName ?? 'image.png');
  return fetch(new URL('api/runs', url), { method: 'POST', body: form, headers: init.headers, signal: init.signal });
}

/** Read a whole event stream (`onEvent` sees each event as it arrives). */
export async function readEvents(response: Response, onEvent?: (event: SseEvent) => void): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) continue;
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === undefined || data === undefined) throw new Error(`malformed event block: ${block}`);
      const parsed = { event, data: JSON.parse(data) as SseEvent['data'] };
      events.push(parsed);
      onEvent?.(parsed);
    }
  }
  return events;
}

/** An HTTP exchange over a raw socket: what the server answered, and how much of the body we could write. */
export interface RawExchange {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
  /** Body bytes handed to the socket before the response arrived. */
  readonly bodyBytesWritten: number;
  /** Whether the server closed the connection. */
  readonly closed: boolean;
}

/**
 * Send `head` (request line and headers, without the blank line) on a raw socket, then body
 * chunks of `chunk` bytes (up to `bodyBytes`, or forever) - in chunked encoding when `chunked` -,
 * until the response has arrived; waits for the server to close the connection (at most 5 s).
 */
export function rawRequest(
  port: number,
  head: string,
  options: { readonly bodyBytes?: number; readonly chunked?: boolean; readonly waitBeforeBody?: number; readonly bodyPrefix?: string } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    let written = 0;
    let answered = false;
    let finished = false;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const done = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      socket.destroy();
      const [headers = '', body = ''] = response.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]);
      if (!status) reject(new Error(`no HTTP response: ${JSON.stringify(response.slice(0, 200))}`));
      else resolve({ status, headers, body, bodyBytesWritten: written, closed });
    };
    let prefix = options.bodyPrefix === undefined ? undefined : Buffer.from(options.bodyPrefix, 'latin1');
    const pump = (): void => {
      while (!answered && !socket.destroyed && (options.bodyBytes === undefined || written < options.bodyBytes)) {
        const next = prefix ?? chunk;
        prefix = undefined;
        const piece = options.bodyBytes === undefined ? next : next.subarray(0, Math.min(next.length, options.bodyBytes - written));
        written += piece.length;
        const ok = options.chunked ? socket.write(`${piece.length.toString(16)}\r\n`) && socket.write(piece) && socket.write('\r\n') : socket.write(piece);
        if (!ok) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write(`${head}\r\n\r\n`);
      if (options.waitBeforeBody === undefined) pump();
      else setTimeout(pump, options.waitBeforeBody);
    });
    socket.on('data', (data) => {
      response += data.toString('latin1');
      if (/\r\n\r\n/.test(response)) {
        answered = true;
        const length = Number(/content-length: (\d+)/i.exec(response)?.[1] ?? NaN);
        const body = response.split('\r\n\r\n')[1] ?? '';
        if (Number.isFinite(length) && Buffer.byteLength(body, 'latin1') >= length) setTimeout(() => done(false), 5000).unref();
      }
    });
    socket.on('error', () => {}); // EPIPE / ECONNRESET after the server closed: the close event follows
    socket.on('close', () => done(true));
  });
}
