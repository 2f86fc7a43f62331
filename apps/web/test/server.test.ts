import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JSON_SCHEMA_VERSION } from '@icot/core';
import { encodePng } from '@icot/image';
import { startWebServer, type WebServer } from '../src/index.js';
import { demoImage, postRun, rawRequest, readEvents } from './helpers/http.js';

// The server in this process, its demo model in a real child process (@icot/runner, from sources).

const MAX_UPLOAD = 2 * 1024 * 1024;
let server: WebServer;
let dataDir: string;
const log: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'icot-web-data-'));
  server = await startWebServer({
    port: 0,
    appDir: inject('appDir'),
    dataDir,
    limits: { maxUploadBytes: MAX_UPLOAD, maxImagePixels: 1000 * 1000, maxNewTokens: 3000, queue: 1 },
    log: (line) => log.push(line),
  });
});
afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const errorOf = async (response: Response): Promise<{ code: string; message: string; hint: string | null }> => {
  const body = (await response.json()) as { schemaVersion: number; error: { code: string; message: string; hint: string | null } };
  expect(body.schemaVersion).toBe(JSON_SCHEMA_VERSION);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'hint', 'message']);
  return body.error;
};

describe('GET', () => {
  it('/healthz: 200 with the models and their load', async () => {
    const response = await fetch(new URL('healthz', server.url));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ schemaVersion: JSON_SCHEMA_VERSION, status: 'ok', models: [{ id: 'demo', running: false, waiting: 0 }] });
  });

  it('/: the page, with cross-origin isolation and a same-origin content policy; /api/config lists models, limits and strategies', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(await page.text()).toMatch(/<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js">/);
    const config = (await (await fetch(new URL('api/config', server.url))).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      schemaVersion: JSON_SCHEMA_VERSION,
      models: [{ id: 'demo', demo: true }],
      limits: { maxUploadBytes: MAX_UPLOAD, maxNewTokens: 3000, queue: 1 },
      ratings: true,
      strategies: { selectors: ['ads', 'random', 'grounding', 'segmentation', 'info-gain'], decoders: ['input', 'kv-copy', 'kv-rebind'] },
    });
    const demoFile = await fetch(new URL('demo-model/onnx/decoder_model_merged.onnx', server.url));
    expect(demoFile.status).toBe(200);
    expect((await demoFile.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
  });

  it('paths outside the app, unknown API paths and other methods are refused with the JSON error', async () => {
    for (const path of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/../../package.json', '/.git/config', '/nothing.html']) {
      const response = await fetch(new URL(path, server.url));
      expect(response.status, path).toBe(404);
      await errorOf(response);
    }
    const traversal = await rawRequest(server.port, `GET /../../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close`, { bodyBytes: 0 });
    expect(traversal.status).toBe(404);
    expect((await errorOf(await fetch(new URL('api/nothing', server.url)))).message).toMatch(/There is no \/api\/nothing/);
    const put = await fetch(new URL('api/runs', server.url), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
  });
});

describe('POST /api/runs', () => {
  it('streams the run as server-sent events: each "event: <type>" with JSON data of that type and the schema version, ending with finish', async () => {
    const response = await postRun(server.url, { options: { maxNewTokens: 24, k: 8 } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = await readEvents(response);
    for (const { event, data } of events) {
      expect(data.type).toBe(event);
      expect(data['schemaVersion']).toBe(JSON_SCHEMA_VERSION);
    }
    const types = events.map((e) => e.event);
    expect(types.slice(0, 3)).toEqual(['accepted', 'model-loading', 'model-loaded']);
    expect(types).toContain('start');
    expect(types.at(-1)).toBe('finish');
    // the demo model's settings when the request names no trigger: its signal token, every 2nd time
    expect(events[0]!.data['options']).toMatchObject({ model: 'demo', k: 8, maxNewTokens: 24, trigger: { signal: { tokenIds: [64] }, every: 2 } });
    const insertions = events.filter((e) => e.event === 'insertion');
    expect(insertions.length).toBeGreaterThanOrEqual(1);
    const finish = events.at(-1)!.data as unknown as { result: { tokens: number[]; insertions: { selected: number[]; attention: number[] }[]; queryImage: { patchCount: number } } };
    expect(finish.result.tokens).toHaveLength(24);
    expect(finish.result.insertions.map((i) => i.selected)).toEqual(insertions.map((e) => (e.data['insertion'] as { selected: number[] }).selected));
    expect(finish.result.insertions[0]!.selected).toHaveLength(8);
    expect(finish.result.insertions[0]!.attention).toHaveLength(finish.result.queryImage.patchCount);
  });

  it('the same request twice gives the same tokens and patches (greedy; the loaded model is reused)', async () => {
    const run = async () => {
      const events = await readEvents(await postRun(server.url, { options: { maxNewTokens: 16, selector: { name: 'random' }, sampling: { seed: 3 } } }));
      const result = events.at(-1)!.data['result'] as { tokens: number[]; insertions: { step: number; selected: number[] }[] };
      return { reused: events.find((e) => e.event === 'model-loaded')!.data['reused'], tokens: result.tokens, insertions: result.insertions.map((i) => [i.step, i.selected]) };
    };
    const [a, b] = [await run(), await run()];
    expect(b.reused).toBe(true);
    expect(a.insertions.length).toBeGreaterThan(0);
    expect(b.tokens).toEqual(a.tokens);
    expect(b.insertions).toEqual(a.insertions);
  });

  it("the question's line breaks mean the same as LF whether the client sent LF or CRLF (browsers' and fetch's multipart encoding)", async () => {
    const run = async (question: string): Promise<{ promptTokens: unknown; tokens: number[] }> => {
      const boundary = 'icotboundary';
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="question"\r\n\r\n${question}\r\n--${boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{"maxNewTokens": 6}\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="image.png"\r\nContent-Type: image/png\r\n\r\n`),
        demoImage,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const response = await fetch(new URL('api/runs', server.url), { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
      const events = await readEvents(response);
      return { promptTokens: events.find((e) => e.event === 'start')!.data['promptTokens'], tokens: (events.at(-1)!.data['result'] as { tokens: number[] }).tokens };
    };
    const lf = await run('Which shape?\nThink step by step.\n');
    expect(await run('Which shape?\r\nThink step by step.\r\n')).toEqual(lf);
    // the question does reach the model: a line break more (a lone CR is one too) makes a longer prompt
    expect((await run('Which shape?\n\rThink step by step.\n')).promptTokens).toBe((lf.promptTokens as number) + 1);
  });

  it('an error inside the run ends the stream with an error event in the shared shape', async () => {
    const events = await readEvents(await postRun(server.url, { options: { k: 0, maxNewTokens: 8 } }));
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data).toEqual({ schemaVersion: JSON_SCHEMA_VERSION, type: 'error', error: { code: 'invalid-option', message: 'k must be an integer >= 1, got 0.', hint: 'Use e.g. 16.' } });
  });

  it('bad requests get 400 (or 415) with the JSON error before anything runs', async () => {
    const cases: [Parameters<typeof postRun>[1], number, RegExp][] = [
      [{ options: '{"k": ' }, 400, /'options' is not valid JSON/],
      [{ options: [1, 2] }, 400, /must be a JSON object/],
      [{ options: { kk: 1 } }, 400, /Unknown run option 'kk'/],
      [{ options: { images: [{ path: '/etc/passwd' }] } }, 400, /options.images cannot be set/],
      [{ options: { model: '/etc' } }, 400, /does not run the model "\/etc"/],
      [{ options: { model: { source: 'demo', dtype: 'fp16' } } }, 400, /can only name a served model/],
      [{ options: { selector: { name: 'grounding', options: { grounder: 'detector', detector: '/tmp/x' } } } }, 400, /option 'detector' is not accepted/],
      [{ options: { selector: { name: 'nope' } } }, 400, /Selector 'nope' is not supported/],
      [{ options: { maxNewTokens: 3001 } }, 400, /maxNewTokens 3001 is more than this server allows \(3000\)/],
      [{ options: { maxNewTokens: 1.5 } }, 400, /maxNewTokens must be an integer/],
      [{ image: null }, 400, /has no image/],
      [{ question: '' }, 400, /question is empty/],
      [{ image: new TextEncoder().encode('not an image at all') }, 400, /./],
    ];
    for (const [fields, status, message] of cases) {
      const response = await postRun(server.url, fields);
      expect(response.status, JSON.stringify(fields.options)).toBe(status);
      expect((await errorOf(response)).message).toMatch(message);
    }
    const notMultipart = await fetch(new URL('api/runs', server.url), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(notMultipart.status).toBe(415);
    expect((await errorOf(notMultipart)).hint).toMatch(/multipart\/form-data/);
  });

  it('an image with more pixels than the limit: 413, read from its header', async () => {
    const big = encodePng({ width: 1001, height: 1000, data: new Uint8Array(1001 * 1000 * 3) });
    const response = await postRun(server.url, { image: big, imageName: 'big.png' });
    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error.code).toBe('image-unreadable');
    expect(error.message).toMatch(/1001x1000 = 1001000 pixels, more than this server's limit of 1000000/);
    expect(error.hint).toMatch(/--max-image-pixels/);
  });
});

describe('upload limits', () => {
  const multipartHead = (length: number | 'chunked', extra = ''): string =>
    `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: multipart/form-data; boundary=X\r\n` +
    (length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`) +
    extra;

  it('a body whose Content-Length is over the limit: 413 and the connection closed, without the body being read', async () => {
    const exchange = await rawRequest(server.port, multipartHead(30 * 1024 * 1024), { waitBeforeBody: 300, bodyBytes: 30 * 1024 * 1024 });
    expect(exchange.status).toBe(413);
    expect(exchange.headers).toMatch(/connection: close/i);
    expect(JSON.parse(exchange.body).error.message).toMatch(/31457280 bytes, over this server's limit of 2097152 bytes/);
    expect(exchange.bodyBytesWritten).toBe(0); // the answer came before a byte of the body was sent
    expect(exchange.closed).toBe(true);
  });

  it('Expect: 100-continue with a Content-Length over the limit: 413 instead of 100 Continue', async () => {
    const exchange = await rawRequest(server.port, multipartHead(30 * 1024 * 1024, '\r\nExpect: 100-continue'), { waitBeforeBody: 1000, bodyBytes: 0 });
    expect(exchange.status).toBe(413);
    expect(exchange.headers).not.toMatch(/100 Continue/);
  });

  it('a chunked body (no length): reading stops at the limit, 413, connection closed', async () => {
    const filePart = '--X\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n';
    const exchange = await rawRequest(server.port, multipartHead('chunked'), { chunked: true, bodyPrefix: filePart });
    expect(exchange.status).toBe(413);
    expect(exchange.closed).toBe(true);
    // what was written beyond the limit sits in socket buffers; far less than an unbounded body
    expect(exchange.bodyBytesWritten).toBeGreaterThan(MAX_UPLOAD);
    expect(exchange.bodyBytesWritten).toBeLessThan(MAX_UPLOAD + 16 * 1024 * 1024);
  });

  it('fetch from Node gets the 413 of an oversized upload', async () => {
    const response = await postRun(server.url, { image: new Uint8Array(3 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect((await errorOf(response)).hint).toMatch(/--max-upload-bytes/);
  });
});

describe('Host and Origin', () => {
  it('another Host (DNS rebinding) is refused on every path', async () => {
    for (const path of ['/', '/healthz', '/api/config']) {
      const exchange = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: attacker.example:${server.port}`, { bodyBytes: 0 });
      expect(exchange.status, path).toBe(403);
      expect(JSON.parse(exchange.body).error.message).toMatch(/Host 'attacker.example:\d+' is not this server's/);
    }
  });

  it("another site's Origin is refused (CSRF); the server's own origins and requests without one pass", async () => {
    const foreign = await postRun(server.url, { options: { maxNewTokens: 4 } }, { headers: { origin: 'https://attacker.example' } });
    expect(foreign.status).toBe(403);
    expect((await errorOf(foreign)).message).toMatch(/Requests from https:\/\/attacker.example are refused/);
    const otherPort = await postRun(server.url, { options: { maxNewTokens: 4 } }, { headers: { origin: `http://127.0.0.1:${server.port + 1}` } });
    expect(otherPort.status).toBe(403);
    expect((await postRun(server.url, { options: { maxNewTokens: 4 } }, { headers: { origin: 'null' } })).status).toBe(403);
    const own = await postRun(server.url, { options: { maxNewTokens: 4 } }, { headers: { origin: `http://localhost:${server.port}` } });
    expect(own.status).toBe(200);
    expect((await readEvents(own)).at(-1)!.event).toBe('finish');
  });
});

describe('runs are bounded and killed', () => {
  it('a client that goes away: its run is killed (the next run starts a fresh child)', async () => {
    const controller = new AbortController();
    const response = await postRun(server.url, { options: { maxNewTokens: 3000 } }, { signal: controller.signal });
    await readEvents(response, (event) => {
      if (event.event === 'token') controller.abort();
    }).catch(() => undefined);
    const health = async () => ((await (await fetch(new URL('healthz', server.url))).json()) as { models: { running: boolean }[] }).models[0]!.running;
    for (let i = 0; i < 100 && (await health()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await health()).toBe(false);
    const next = await readEvents(await postRun(server.url, { options: { maxNewTokens: 4 } }));
    expect(next.find((e) => e.event === 'model-loaded')!.data['reused']).toBe(false);
    expect(log.some((line) => /error aborted: The client went away\. \(client gone\)/.test(line))).toBe(true);
  });

  it('a run past --run-timeout is killed and ends with an error event', async () => {
    const strict = await startWebServer({ port: 0, appDir: inject('appDir'), limits: { runTimeoutSeconds: 1, maxNewTokens: 3900 } });
    try {
      const started = Date.now();
      const events = await readEvents(await postRun(strict.url, { options: { maxNewTokens: 3900 } }));
      const last = events.at(-1)!;
      expect(last.event).toBe('error');
      expect(last.data['error']).toMatchObject({ code: 'aborted', message: "The run took longer than 1 s, this server's limit, and was stopped." });
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await strict.close();
    }
  });

  it('the queue is bounded: with every place taken (an upload in progress holds one), the next request gets 503 with Retry-After before its body is read', async () => {
    const small = await startWebServer({ port: 0, appDir: inject('appDir'), limits: { queue: 0 } });
    try {
      // an upload that never finishes holds the only place
      const holder = rawRequest(small.port, `POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:${small.port}\r\nContent-Type: multipart/form-data; boundary=X\r\nContent-Length: 100000`, { bodyBytes: 1000 });
      for (let i = 0; i < 100; i++) {
        const health = (await (await fetch(new URL('healthz', small.url))).json()) as { requests: number };
        if (health.requests === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const refused = await postRun(small.url, {});
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      const error = await errorOf(refused);
      expect(error.code).toBe('network');
      expect(error.hint).toMatch(/--queue/);
      void holder.catch(() => undefined);
    } finally {
      await small.close();
    }
  });
});

describe('ratings', () => {
  const rating = {
    model: 'demo',
    question: 'Which shape?',
    image: { name: 'image.png', sha256: 'a'.repeat(64), width: 224, height: 224 },
    step: 1,
    stepText: 'aa',
    regions: [
      { strategy: 'ads, input, signal', options: { selector: { name: 'ads' } }, selected: [1, 2, 3] },
      { strategy: 'random, input, signal', options: { selector: { name: 'random' } }, selected: [4, 5, 6] },
    ],
    choice: 'second',
  };

  it('POST /api/ratings appends a line to <data-dir>/ratings.jsonl; GET /api/ratings exports the file', async () => {
    const post = (body: unknown) => fetch(new URL('api/ratings', server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const first = await post(rating);
    expect(first.status).toBe(201);
    const stored = (await first.json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ schemaVersion: JSON_SCHEMA_VERSION, ...rating, preferred: 'random, input, signal' });
    expect(stored['id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await post({ ...rating, choice: 'neither' })).status).toBe(201);
    const lines = (await readFile(join(dataDir, 'ratings.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.slice(-2).map((l) => [l['choice'], l['preferred']])).toEqual([
      ['second', 'random, input, signal'],
      ['neither', null],
    ]);
    const exported = await fetch(new URL('api/ratings', server.url));
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(exported.headers.get('content-disposition')).toBe('attachment; filename="ratings.jsonl"');
    expect(await exported.text()).toBe(await readFile(join(dataDir, 'ratings.jsonl'), 'utf8'));
    const bad = await post({ ...rating, choice: 'left' });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/choice must be 'first', 'second' or 'neither'/);
  });

  it('a server without --data-dir keeps no ratings and says so', async () => {
    const plain = await startWebServer({ port: 0, appDir: inject('appDir') });
    try {
      const response = await fetch(new URL('api/ratings', plain.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rating) });
      expect(response.status).toBe(404);
      expect((await errorOf(response)).hint).toMatch(/--data-dir/);
    } finally {
      await plain.close();
    }
  });
});
