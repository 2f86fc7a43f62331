import { existsSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { AbortedError, errorDocument, IcotError, ImageError, JSON_SCHEMA_VERSION, OptionError } from '@icot/core';
import { readImageHeader } from '@icot/image';
import { DECODERS, SELECTORS, TRIGGERS, type ChildRunnerOptions, type RunEvent } from '@icot/runner';
import { ModelBusy, servedModels, type ServedModel, type ServedModelInfo } from './models.js';
import { DEFAULT_WEB_LIMITS, DEFAULT_WEB_PORT, type ServedModelSettings, type WebLimits } from './options.js';
import { checkRating, MAX_RATING_BYTES, ratingRecord, RatingStore } from './ratings.js';
import { badRequest, busy, RequestRefusal, serverBusy, uploadTooLarge } from './refusal.js';
import { resolveRunRequest, RUN_OPTION_NAMES } from './run-request.js';
import { serveStatic } from './static.js';
import { readRunUpload } from './upload.js';

/** Options of {@link startWebServer}. */
export interface WebServerOptions {
  /** Port on 127.0.0.1 (default 8790; 0: any free port, see {@link WebServer.port}). */
  readonly port?: number;
  /** Model folders (absolute paths) and hub ids; default: the embedded demo model. Runs can use only these. */
  readonly models?: readonly string[];
  /** How every model is loaded (backend, dtype, threads, offline). */
  readonly modelSettings?: ServedModelSettings;
  /** Folder of `ratings.jsonl`; without it the server stores no ratings (the page keeps them in IndexedDB). */
  readonly dataDir?: string;
  /** Limits (defaults: {@link DEFAULT_WEB_LIMITS}). */
  readonly limits?: Partial<WebLimits>;
  /** Folder of the built page (default: `dist/app` of this package). */
  readonly appDir?: string;
  /** How the models' child processes start (Node flags, environment, where their output goes). */
  readonly runner?: ChildRunnerOptions;
  /** Receives one line per run and per refused request (default: nothing). */
  readonly log?: (line: string) => void;
}

/** A running server. */
export interface WebServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly port: number;
  readonly models: readonly ServedModelInfo[];
  /** Stop: refuse new requests, kill runs in progress, close connections and the models' child processes. */
  close(): Promise<void>;
}

/** The built page next to this module (`src/` and `dist/` are both one level below the package). */
export const DEFAULT_APP_DIR = fileURLToPath(new URL('../dist/app/', import.meta.url));

/** Events of `POST /api/runs` that the server adds to the runner's. */
export type ServerRunEvent =
  | { readonly type: 'accepted'; readonly runId: number; readonly model: string; readonly options: Readonly<Record<string, unknown>>; readonly image: { readonly name: string; readonly width: number; readonly height: number; readonly bytes: number } }
  | { readonly type: 'queued'; readonly position: number };

/** Unread response bytes past which a client that does not read its event stream gets its run killed. */
const MAX_BUFFERED_EVENT_BYTES = 64 * 1024 * 1024;
/** A comment line this often keeps idle event streams open through proxies and finds clients that left. */
const KEEP_ALIVE_MS = 15_000;
/** How long a connection whose request body is refused unread stays half-open for the client to read the answer. */
const LINGER_MS = 2_000;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // cross-origin isolation: SharedArrayBuffer for onnxruntime-web's threads in browser mode
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  response.end(text);
}

/**
 * Answer a refused request with the JSON error. When the refusal closes the connection (a body
 * the server will not read), the answer is written straight to the socket and only the sending
 * side is closed: the socket stops being read (what arrives waits in kernel buffers), and it is
 * destroyed after {@link LINGER_MS}. Closing at once would make the kernel reset the connection
 * over the unread bytes, and a client still sending its body could lose the answer.
 */
function refuse(response: ServerResponse, refusal: RequestRefusal): void {
  if (response.headersSent) return;
  const socket = response.socket;
  if (!refusal.closeConnection || !socket) return sendJson(response, refusal.status, errorDocument(refusal.error), refusal.headers);
  const body = JSON.stringify(errorDocument(refusal.error));
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    ...refusal.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    connection: 'close',
  };
  const head = `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  response.req.pause();
  socket.pause();
  socket.end(head + body);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(uploadTooLarge(declared, maxBytes));
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? ''))
    return Promise.reject(badRequest('This endpoint takes application/json.', 'Send the body with Content-Type: application/json.', 415));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        request.off('data', onData);
        request.pause();
        reject(uploadTooLarge(undefined, maxBytes));
      } else chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('aborted', () => reject(new AbortedError('The client went away.')));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(badRequest(`The body is not valid JSON: ${(error as Error).message}.`, 'Send one JSON object.'));
      }
    });
  });
}

/**
 * Start the icot web server on 127.0.0.1: the built page, `GET /healthz`, `GET /api/config`,
 * `POST /api/runs` (multipart image, question and options -> server-sent events of the run),
 * `POST /api/ratings` and `GET /api/ratings` (JSON Lines). Every model runs in its own child
 * process (`@icot/runner`), one run at a time, behind a bounded queue (503 + Retry-After when it
 * is full). Request bodies, image pixels, new tokens and run time are bounded; a run past its time
 * or whose client went away is killed. Requests must name this server in `Host` and, when they
 * carry one, in `Origin` (no other site can drive it, no DNS rebinding).
 */
export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const limits: WebLimits = { ...DEFAULT_WEB_LIMITS, ...options.limits };
  const appDir = options.appDir ?? DEFAULT_APP_DIR;
  if (!existsSync(`${appDir}/index.html`))
    throw new IcotError('internal', `The web app is not built: ${appDir} has no index.html.`, {
      hint: "Build it with 'pnpm --filter @icot/web build' (in the icot repository), or reinstall @icot/web.",
    });
  const log = options.log ?? (() => {});
  const models: ServedModel[] = servedModels(options.models ?? [], options.modelSettings ?? {}, limits.queue, options.runner ?? {});
  const ratings = options.dataDir === undefined ? undefined : new RatingStore(options.dataDir);
  await ratings?.open();
  /** Requests of POST /api/runs being received, waiting or running: bounded by the queues' room, so buffered uploads are too. */
  const capacity = models.length * (1 + limits.queue);
  let inFlight = 0;
  let nextRunId = 0;
  let closing = false;
  const active = new Set<AbortController>();
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();

  /** A DNS-rebinding page has another Host; another site's request carries its Origin (browsers send Origin on every POST). */
  const checkRequester = (request: IncomingMessage): RequestRefusal | undefined => {
    const host = (request.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host))
      return badRequest(`Host '${host}' is not this server's: it answers only to ${[...allowedHosts].join(', ')}.`, 'Open the app at the address icot web printed (http://127.0.0.1:<port>/).', 403);
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase()))
      return badRequest(`Requests from ${origin} are refused: only this server's own page (${[...allowedOrigins].join(' or ')}) may call it.`, 'Use the app the server serves, or call the API without a browser (curl, fetch from Node).', 403);
    if (request.headers['sec-fetch-site'] === 'cross-site') return badRequest('Cross-site requests are refused.', 'Use the app the server serves.', 403);
    return undefined;
  };

  /** Refusals decided from the headers alone, before any of the body is read. */
  const checkRunHeaders = (request: IncomingMessage): RequestRefusal | undefined => {
    if (closing) return new RequestRefusal(503, new AbortedError('The server is shutting down.', { hint: 'Start it again.' }), {}, true);
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > limits.maxUploadBytes) return uploadTooLarge(Number(declared), limits.maxUploadBytes);
    if (inFlight >= capacity) return serverBusy(inFlight);
    return undefined;
  };

  const handleRun = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const early = checkRunHeaders(request);
    if (early) {
      log(`POST /api/runs ${early.status}: ${early.error.message}`);
      return refuse(response, early);
    }
    inFlight += 1;
    const controller = new AbortController();
    active.add(controller);
    let reservation: ReturnType<ServedModel['reserve']> | undefined;
    let clientGone = false;
    const onClose = (): void => {
      if (response.writableEnded) return;
      clientGone = true;
      controller.abort(new AbortedError('The client went away.'));
    };
    response.on('close', onClose);
    try {
      let upload;
      try {
        upload = await readRunUpload(request, limits.maxUploadBytes);
      } catch (error) {
        if (error instanceof RequestRefusal) {
          log(`POST /api/runs ${error.status}: ${error.error.message}`);
          return refuse(response, error);
        }
        response.destroy();
        return;
      }
      let header;
      try {
        header = readImageHeader(upload.image, { name: upload.imageName });
      } catch (error) {
        return refuse(response, new RequestRefusal(400, IcotError.is(error) ? error : new ImageError(`Cannot read ${upload.imageName}.`, { hint: 'Send a PNG or JPEG file.' })));
      }
      if (header.width * header.height > limits.maxImagePixels)
        return refuse(
          response,
          new RequestRefusal(
            413,
            new ImageError(`The image is ${header.width}x${header.height} = ${header.width * header.height} pixels, more than this server's limit of ${limits.maxImagePixels} pixels.`, {
              hint: 'Send a smaller image, or start the server with a larger --max-image-pixels.',
            }),
          ),
        );
      let run;
      try {
        run = resolveRunRequest(upload, models, limits);
      } catch (error) {
        return refuse(response, new RequestRefusal(400, IcotError.is(error) ? error : new OptionError(String(error))));
      }
      reservation = run.model.reserve();
      if (reservation instanceof ModelBusy) {
        const refusal = busy(reservation.model, reservation.waiting, reservation.retryAfterSeconds);
        log(`POST /api/runs 503: ${refusal.error.message}`);
        return refuse(response, refusal);
      }
      const held = reservation;
      const runId = ++nextRunId;
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store, no-transform',
        'x-accel-buffering': 'no',
      });
      const send = (type: string, data: object): void => {
        if (response.writableEnded || response.destroyed) return;
        response.write(`event: ${type}\ndata: ${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...data, type })}\n\n`);
        if (response.writableLength > MAX_BUFFERED_EVENT_BYTES) controller.abort(new AbortedError('The client does not read its event stream.'));
      };
      const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      let outcomeLine = '';
      try {
        send('accepted', { runId, model: run.model.id, options: run.options, image: { name: upload.imageName, width: header.width, height: header.height, bytes: upload.image.byteLength } });
        await held.acquire(controller.signal, (position) => send('queued', { position }));
        const runStarted = Date.now();
        timer = setTimeout(
          () =>
            controller.abort(
              new AbortedError(`The run took longer than ${limits.runTimeoutSeconds} s, this server's limit, and was stopped.`, {
                hint: 'Ask for fewer new tokens or insertions, or start the server with a larger --run-timeout.',
              }),
            ),
          limits.runTimeoutSeconds * 1000,
        );
        const events = run.model.runner.stream(run.description, { signal: controller.signal });
        let last: RunEvent | undefined;
        for await (const event of events) {
          last = event;
          send(event.type, event);
        }
        run.model.recordRun(Date.now() - runStarted);
        if (last?.type === 'finish') outcomeLine = `finish (${last.result.usage.generatedTokens} tokens, ${last.result.insertions.length} insertions)`;
      } catch (error) {
        const gone = clientGone || response.destroyed;
        outcomeLine = `error ${IcotError.is(error) ? error.code : 'internal'}: ${(error as Error)?.message ?? String(error)}${gone ? ' (client gone)' : ''}`;
        if (!gone) send('error', errorDocument(error));
      } finally {
        clearTimeout(timer);
        clearInterval(keepAlive);
        held.release();
        response.end();
        log(`run ${runId} on ${run.model.id}: ${outcomeLine} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    } finally {
      if (reservation && !(reservation instanceof ModelBusy)) reservation.release();
      response.off('close', onClose);
      active.delete(controller);
      inFlight -= 1;
    }
  };

  const handleRatings = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!ratings)
      return refuse(response, badRequest('This server keeps no ratings: it was started without --data-dir.', 'Start it with --data-dir <folder>, or keep ratings in the browser (the page does when the server has none).', 404));
    if (request.method === 'GET' || request.method === 'HEAD') {
      const file = await ratings.read();
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'application/x-ndjson; charset=utf-8',
        'content-length': String(file.size),
        'content-disposition': 'attachment; filename="ratings.jsonl"',
        'cache-control': 'no-store',
      });
      if (file.size === 0 || request.method !== 'GET') return void response.end();
      file.stream().pipe(response);
      return;
    }
    let body;
    try {
      body = await readJsonBody(request, MAX_RATING_BYTES);
    } catch (error) {
      if (error instanceof RequestRefusal) return refuse(response, error);
      response.destroy();
      return;
    }
    let record;
    try {
      record = ratingRecord(checkRating(body));
    } catch (error) {
      return refuse(response, new RequestRefusal(400, IcotError.is(error) ? error : new OptionError(String(error))));
    }
    await ratings.append(record);
    sendJson(response, 201, record);
  };

  const config = (): object => ({
    schemaVersion: JSON_SCHEMA_VERSION,
    models: models.map((m) => ({ id: m.id, label: m.label, demo: m.demo })),
    limits,
    ratings: ratings !== undefined,
    runOptions: RUN_OPTION_NAMES,
    strategies: { selectors: SELECTORS, decoders: DECODERS, triggers: TRIGGERS },
  });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const refusal = checkRequester(request);
    if (refusal) {
      log(`${request.method} ${request.url} ${refusal.status}: ${refusal.error.message}`);
      return refuse(response, new RequestRefusal(refusal.status, refusal.error, {}, true));
    }
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const method = request.method ?? 'GET';
    const only = (...allowed: string[]): boolean => {
      if (allowed.includes(method)) return true;
      refuse(response, new RequestRefusal(405, new OptionError(`${method} is not allowed on ${path}.`, { hint: `Use ${allowed.join(' or ')}.` }), { allow: allowed.join(', ') }, true));
      return false;
    };
    if (path === '/healthz') {
      if (only('GET', 'HEAD'))
        sendJson(response, 200, {
          schemaVersion: JSON_SCHEMA_VERSION,
          status: closing ? 'closing' : 'ok',
          models: models.map((m) => ({ id: m.id, ...m.load })),
          requests: inFlight,
          memory: process.memoryUsage(),
        });
      return;
    }
    if (path === '/api/config') {
      if (only('GET', 'HEAD')) sendJson(response, 200, config());
      return;
    }
    if (path === '/api/runs') {
      if (only('POST')) await handleRun(request, response);
      return;
    }
    if (path === '/api/ratings') {
      if (only('GET', 'HEAD', 'POST')) await handleRatings(request, response);
      return;
    }
    if (path.startsWith('/api/'))
      return refuse(response, badRequest(`There is no ${path}.`, 'The API: GET /healthz, GET /api/config, POST /api/runs, POST /api/ratings, GET /api/ratings.', 404));
    if (!only('GET', 'HEAD')) return;
    if (!(await serveStatic(appDir, path, request, response, SECURITY_HEADERS)))
      refuse(response, badRequest(`There is no ${path}.`, 'Open the app at /.', 404));
  };

  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch((error: unknown) => {
      log(`${request.method} ${request.url} 500: ${(error as Error)?.stack ?? String(error)}`);
      if (!response.headersSent) sendJson(response, 500, errorDocument(error), { connection: 'close' });
      else response.destroy();
    });
  };

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, onRequest);
  server.maxConnections = 256;
  // Expect: 100-continue (curl sends it for large bodies): refuse before the client sends the body.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    const refusal = checkRequester(request) ?? (new URL(request.url ?? '/', 'http://127.0.0.1').pathname === '/api/runs' ? checkRunHeaders(request) : undefined);
    if (refusal) {
      log(`${request.method} ${request.url} ${refusal.status} (before the body): ${refusal.error.message}`);
      return refuse(response, new RequestRefusal(refusal.status, refusal.error, refusal.headers, true));
    }
    response.writeContinue();
    onRequest(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_WEB_PORT, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: NodeJS.ErrnoException) => {
    await ratings?.close();
    if (error.code === 'EADDRINUSE')
      throw new OptionError(`Port ${options.port ?? DEFAULT_WEB_PORT} on 127.0.0.1 is in use.`, { hint: 'Pick another with --port (0 picks a free one), or stop what uses it.' });
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  allowedOrigins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const controller of active) controller.abort(new AbortedError('The server is shutting down.'));
      server.closeIdleConnections();
      await Promise.all(models.map((m) => m.runner.close()));
      const timer = setTimeout(() => server.closeAllConnections(), 2000);
      await stopped;
      clearTimeout(timer);
      await ratings?.close();
    })());

  return { url: `http://127.0.0.1:${port}/`, port, models: models.map(({ id, label, demo }) => ({ id, label, demo })), close };
}

export { DEFAULT_WEB_PORT };
