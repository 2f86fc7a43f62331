import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startWebServer, type WebServer } from '../src/index.js';
import { demoImage, postRun, readEvents } from './helpers/http.js';

// A bounded local load test: 20 run requests at once on 127.0.0.1, each carrying a 2 MiB image,
// against one model with a queue of 2. The queue and the limits must hold, every request must get
// an answer (a finished stream or 503 + Retry-After), and the server's memory must come back.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const QUEUE = 2;
const REQUESTS = 20;

/** The demo image with a 2 MiB private ancillary chunk before IEND: a valid PNG that decoders skip through. */
function paddedPng(): Uint8Array {
  const iend = demoImage.length - 12;
  const data = Buffer.alloc(2 * 1024 * 1024, 7);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('prVt', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return Buffer.concat([demoImage.subarray(0, iend), chunk, demoImage.subarray(iend)]);
}

/** Heap and ArrayBuffer memory of this process (where the server runs) after a full collection. */
function memory(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

let server: WebServer;
beforeAll(async () => {
  server = await startWebServer({ port: 0, appDir: inject('appDir'), limits: { queue: QUEUE, maxUploadBytes: 4 * 1024 * 1024 } });
});
afterAll(() => server?.close());

interface Health {
  readonly models: readonly { readonly running: boolean; readonly waiting: number }[];
  readonly requests: number;
}
const health = async (): Promise<Health> => (await (await fetch(new URL('healthz', server.url))).json()) as Health;

it(`${REQUESTS} concurrent runs: at most 1 running and ${QUEUE} waiting, the rest 503 with Retry-After, none hangs, memory back to its baseline`, async () => {
  const image = paddedPng();
  // warm up: the model's child process started and the model loaded, so the baseline holds them
  expect((await readEvents(await postRun(server.url, { image, options: { maxNewTokens: 8 } }))).at(-1)!.event).toBe('finish');
  const baseline = memory();

  let peak = { running: 0, waiting: 0, requests: 0 };
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const h = await health();
      peak = {
        running: Math.max(peak.running, h.models.filter((m) => m.running).length),
        waiting: Math.max(peak.waiting, ...h.models.map((m) => m.waiting)),
        requests: Math.max(peak.requests, h.requests),
      };
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  interface Outcome {
    readonly status: number;
    readonly retryAfter?: string | null;
    readonly code?: string;
    readonly last?: string;
    readonly queued?: boolean;
  }
  const outcomes = await Promise.all(
    Array.from({ length: REQUESTS }, async (): Promise<Outcome> => {
      const response = await postRun(server.url, { image, options: { maxNewTokens: 32 } }, { signal: AbortSignal.timeout(120_000) });
      if (response.status !== 200) return { status: response.status, retryAfter: response.headers.get('retry-after'), code: ((await response.json()) as { error: { code: string } }).error.code };
      const events = await readEvents(response);
      return { status: 200, last: events.at(-1)!.event, queued: events.some((e) => e.event === 'queued') };
    }),
  );
  polling = false;
  await poll;

  const accepted = outcomes.filter((o) => o.status === 200);
  const refused = outcomes.filter((o) => o.status !== 200);
  expect(accepted.length + refused.length).toBe(REQUESTS);
  expect(accepted.length).toBeGreaterThanOrEqual(1 + QUEUE);
  for (const o of accepted) expect(o.last).toBe('finish');
  expect(accepted.some((o) => o.queued)).toBe(true);
  expect(refused.length).toBeGreaterThan(0);
  for (const o of refused) {
    expect(o.status).toBe(503);
    expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(o.code).toBe('network');
  }
  expect(peak.running).toBe(1);
  expect(peak.waiting).toBeLessThanOrEqual(QUEUE);
  expect(peak.requests).toBeLessThanOrEqual(1 + QUEUE);

  const after = await health();
  expect(after).toMatchObject({ requests: 0, models: [{ running: false, waiting: 0 }] });
  // 20 x 2 MiB went through; what is left is at most a few MiB of allocator slack
  const grown = memory() - baseline;
  expect(grown).toBeLessThan(8 * 1024 * 1024);
}, 240_000);
