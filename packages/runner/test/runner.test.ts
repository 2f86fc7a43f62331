import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageFile } from '@icot/image/node';
import { AbortedError, ImageError, ModelFilesError, OptionError, SelectionError, type IcotError } from '@icot/core';
import { fixturePath, loadOracle, writeSlowPrefillModel } from '@icot/testing';
import { startTestHub } from '@icot/testing/hub';
import { ChildRunner, runInChildProcess, type RunDescription, type RunEvent } from '../src/index.js';
import { executeRun } from '../src/in-process.js';
import { isRunning, waitForEnd } from './helpers/processes.js';

const oracle = loadOracle('tiny-qwen2-vl');
const image = fixturePath('tiny-qwen2-vl', 'image.png');
const oracleRun: RunDescription = {
  model: { source: fixturePath('tiny-qwen2-vl') },
  images: [{ path: image }],
  prompt: { text: oracle.prompt_text },
  trigger: { signal: { tokenIds: oracle.signal_token_ids }, every: oracle.every },
  k: oracle.k,
  maxInsertions: oracle.max_insertions,
  maxNewTokens: oracle.max_new_tokens,
};

let dir: string;
let slowRun: RunDescription;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icot-runner-'));
  const slow = await writeSlowPrefillModel(join(dir, 'slow'));
  // one onnxruntime thread: the prefill takes >= 5 s here (see writeSlowPrefillModel), far longer than the tests wait
  slowRun = { model: { source: slow.dir, threads: 1 }, images: [{ path: image }], prompt: { text: slow.longPromptText }, maxNewTokens: 4 };
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Events without wall-clock fields, to compare two runs. */
function withoutTimings(events: readonly RunEvent[]): unknown[] {
  return events.map((event) => {
    if (event.type === 'insertion') return { ...event, insertion: { ...event.insertion, ms: 0 } };
    if (event.type === 'finish') return { ...event, result: { ...event.result, timings: undefined, insertions: event.result.insertions.map((i) => ({ ...i, ms: 0 })) } };
    return event;
  });
}

/** Start a run, resolve when its prefill has begun (plus `afterMs`), with the child's pid. */
function startSlowRun(runner: ChildRunner, signal: AbortSignal, afterMs: number): { prefill: Promise<number>; run: Promise<unknown> } {
  let started!: (pid: number) => void;
  const prefill = new Promise<number>((resolve) => (started = resolve));
  const run = runner.run(slowRun, { signal, onEvent: (event) => event.type === 'start' && setTimeout(() => started(runner.pid!), afterMs) });
  run.catch(() => {});
  return { prefill, run };
}

/** An RGBA PNG of `rgb` whose alpha is 0 everywhere (written by hand: color type 6, filter 0 rows). */
function transparentPng(rgb: { width: number; height: number; data: Uint8Array }): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(rgb.width, 0);
  header.writeUInt32BE(rgb.height, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(rgb.height * (1 + rgb.width * 4));
  for (let y = 0; y < rgb.height; y++)
    for (let x = 0; x < rgb.width; x++) {
      const at = y * (1 + rgb.width * 4) + 1 + x * 4;
      rows.set(rgb.data.subarray((y * rgb.width + x) * 3, (y * rgb.width + x) * 3 + 3), at);
    }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
}

describe('executeRun', () => {
  it('decodes transparent images as the description says: alpha dropped (load_image) or composited over white (default)', async () => {
    const bytes = transparentPng(await readImageFile(image));
    const run = (imageAlpha?: 'drop' | 'composite') => executeRun({ ...oracleRun, images: [{ bytes, name: 'transparent.png' }], ...(imageAlpha ? { imageAlpha } : {}) });
    // the colours under a fully transparent alpha are the fixture image's: dropping alpha reproduces the oracle
    expect((await run('drop')).result.tokens).toEqual(oracle.tokens);
    // composited over white, the model sees a white image instead
    const composited = (await run()).result.tokens;
    expect(composited).not.toEqual(oracle.tokens);
    expect((await run('composite')).result.tokens).toEqual(composited);
  });
});

describe('ChildRunner', () => {
  it('streams the events of an in-process run through the process boundary and returns the outcome', async () => {
    const remote: RunEvent[] = [];
    const outcome = await runInChildProcess(oracleRun, { onEvent: (event) => remote.push(event) });
    expect(outcome.result.tokens).toEqual(oracle.tokens);
    expect(outcome.result.insertions.map((i) => i.selected)).toEqual(oracle.events.map((e) => e.selected));
    expect(outcome.model).toEqual({ modelId: expect.any(String), family: 'qwen2-vl', provider: expect.any(String) });
    expect(outcome.images).toEqual([{ width: 224, height: 224, rows: 8, cols: 8, tiles: 1, patches: 64 }]);
    expect(outcome.tokenTexts).toHaveLength(outcome.result.tokens.length);
    // each insertion's whole attention row and the query image's patch boxes cross the process boundary
    for (const insertion of outcome.result.insertions) {
      expect(insertion.attention).toHaveLength(64);
      expect(insertion.scores).toEqual(insertion.selected.map((i) => insertion.attention![i]));
    }
    expect(outcome.result.queryImage.patchBoxes).toHaveLength(64);
    expect(outcome.result.queryImage.patchBoxes[9]).toEqual({ x: 28, y: 28, width: 28, height: 28 });
    expect(remote.map((e) => e.type).slice(0, 4)).toEqual(['model-loading', 'model-loaded', 'images-encoded', 'start']);
    expect(remote.at(-1)).toEqual({ type: 'finish', result: outcome.result });

    const local: RunEvent[] = [];
    await executeRun(oracleRun, { onEvent: (event) => local.push(event) });
    expect(withoutTimings(remote)).toEqual(withoutTimings(local));
  });

  it('forwards hub download progress as events (hub id, local test hub, temporary cache)', async () => {
    const hub = await startTestHub();
    try {
      const files: Record<string, Uint8Array> = {};
      const model = fixturePath('tiny-qwen2-vl');
      for (const name of ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'])
        files[name] = new Uint8Array(await readFile(join(model, name)));
      for (const name of await readdir(join(model, 'onnx'))) files[`onnx/${name}`] = new Uint8Array(await readFile(join(model, 'onnx', name)));
      hub.commit('test-org/tiny', files);
      const env = { ...process.env, HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(dir, 'hub'), ICOT_CACHE_DIR: join(dir, 'icot') };
      const downloads: Extract<RunEvent, { type: 'download' }>[] = [];
      const outcome = await runInChildProcess({ ...oracleRun, model: { source: 'test-org/tiny' } }, { env, onEvent: (e) => e.type === 'download' && downloads.push(e) });
      expect(outcome.result.tokens).toEqual(oracle.tokens);
      const done = downloads.filter((d) => d.done && !d.cached).map((d) => d.file);
      expect(done).toEqual(expect.arrayContaining(['config.json', 'onnx/decoder_model_merged.onnx', 'onnx/vision_encoder.onnx']));
      const decoder = downloads.filter((d) => d.file === 'onnx/decoder_model_merged.onnx').at(-1)!;
      expect(decoder).toMatchObject({ repo: 'test-org/tiny', loaded: files['onnx/decoder_model_merged.onnx']!.length, total: files['onnx/decoder_model_merged.onnx']!.length });
    } finally {
      await hub.close();
    }
  });

  it('brings errors back as the same typed IcotError, with code, message and hint', async () => {
    const runner = new ChildRunner();
    try {
      const tooMany = await runner.run({ ...oracleRun, k: 65 }).catch((error: unknown) => error);
      expect(tooMany).toBeInstanceOf(SelectionError);
      expect(tooMany).toMatchObject({ code: 'invalid-selection', message: expect.stringMatching(/k = 65 is larger than the query image's 64 patches/), hint: 'Use k <= 64, or a larger image.' });
      expect((tooMany as Error).stack).toMatch(/generate/); // the child's stack trace
      const missing = await runner.run({ ...oracleRun, model: { source: join(dir, 'nope') } }).catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(ModelFilesError);
      expect((missing as IcotError).hint).toBeTruthy();
      const bytes = await runner.run({ ...oracleRun, images: [{ bytes: new TextEncoder().encode('not an image'), name: 'upload.png' }] }).catch((error: unknown) => error);
      expect(bytes).toBeInstanceOf(ImageError);
      expect((bytes as Error).message).toMatch(/upload\.png/);
    } finally {
      await runner.close();
    }
  });

  it('refuses a malformed description before starting a child', async () => {
    const runner = new ChildRunner();
    await expect(runner.run({ ...oracleRun, selector: { name: 'magic' as 'ads' } })).rejects.toThrow(OptionError);
    await expect(runner.run({ ...oracleRun, prompt: {} as RunDescription['prompt'] })).rejects.toThrow(/exactly one prompt/);
    await expect(runner.run({ ...oracleRun, prompt: { question: 'q', messages: [] } as unknown as RunDescription['prompt'] })).rejects.toThrow(/exactly one prompt/);
    await expect(runner.run({ ...oracleRun, prompt: { messages: [] } })).rejects.toThrow(/no chat messages/);
    await expect(runner.run({ ...oracleRun, prompt: { messages: [{ role: 'user', content: [{ type: 'picture' }] }] } } as unknown as RunDescription)).rejects.toThrow(/message 1 of the prompt/);
    expect(runner.pid).toBeUndefined();
  });

  it('prompt { messages }: chat messages with image parts, formatted by the model, as a question would be', async () => {
    const question = 'Which shape is this?';
    const base: RunDescription = { model: oracleRun.model, images: [{ path: image }, { path: image }], prompt: { question }, maxNewTokens: 6, maxInsertions: 0 };
    const one = { ...base, images: [{ path: image }] };
    const asQuestion = await executeRun(one);
    const asMessages = await executeRun({ ...one, prompt: { messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: question }] }] } });
    expect(asMessages.result.tokens).toEqual(asQuestion.result.tokens);
    expect(asMessages.result.usage).toEqual(asQuestion.result.usage);
    // a system message and two whole images: the second image adds its patches and its <|vision_start|> <|vision_end|> frame
    const system = { role: 'system' as const, content: 'Be brief.' };
    const two = await executeRun({ ...base, prompt: { messages: [system, { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'An example.' }, { type: 'image' }, { type: 'text', text: question }] }] } });
    const single = await executeRun({ ...one, prompt: { messages: [system, { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'An example.' }, { type: 'text', text: question }] }] } });
    expect(two.result.usage.promptTokens).toBe(single.result.usage.promptTokens + two.images[1]!.patches + 2);
    expect(two.result.queryImage.index).toBe(1); // the last whole image is the query image
  });

  it('serves consecutive runs from one child with the loaded model, and takes image bytes', async () => {
    const runner = new ChildRunner();
    try {
      const loaded: boolean[] = [];
      const onEvent = (event: RunEvent) => event.type === 'model-loaded' && loaded.push(event.reused);
      const first = await runner.run(oracleRun, { onEvent });
      const pid = runner.pid;
      const { readFile } = await import('node:fs/promises');
      const second = await runner.run({ ...oracleRun, images: [{ bytes: new Uint8Array(await readFile(image)) }] }, { onEvent });
      expect(runner.pid).toBe(pid);
      expect(loaded).toEqual([false, true]);
      expect(second.result.tokens).toEqual(first.result.tokens);
    } finally {
      await runner.close();
    }
  });

  it('kills the child mid-prefill when the signal aborts, rejects with AbortedError, and runs again in a fresh child', async () => {
    const runner = new ChildRunner();
    try {
      const controller = new AbortController();
      const { prefill, run } = startSlowRun(runner, controller.signal, 300);
      const pid = await prefill;
      expect(isRunning(pid)).toBe(true);
      const t0 = performance.now();
      controller.abort();
      await expect(run).rejects.toBeInstanceOf(AbortedError);
      const ms = performance.now() - t0;
      console.log(`runner: abort mid-prefill -> rejected after ${ms.toFixed(1)} ms (the prefill alone takes seconds)`);
      expect(ms).toBeLessThan(5000); // ended long before the native prefill could have
      expect(isRunning(pid)).toBe(false);
      const next = await runner.run(oracleRun);
      expect(next.result.tokens).toEqual(oracle.tokens);
      expect(runner.pid).not.toBe(pid);
    } finally {
      await runner.close();
    }
  });

  it('kills the child when onEvent throws, and rejects with that error', async () => {
    const runner = new ChildRunner();
    const failure = new Error('listener failed');
    let pid: number | undefined;
    await expect(
      runner.run(oracleRun, {
        onEvent: (event) => {
          pid = runner.pid;
          if (event.type === 'token') throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(isRunning(pid!)).toBe(false);
    await runner.close();
  });

  it('streams events as an async iterable that returns the outcome; leaving the loop kills the run', async () => {
    const runner = new ChildRunner();
    try {
      const stream = runner.stream(oracleRun);
      const types: string[] = [];
      let next = await stream.next();
      while (!next.done) {
        types.push(next.value.type);
        next = await stream.next();
      }
      expect(next.value.result.tokens).toEqual(oracle.tokens);
      expect(types.filter((t) => t === 'insertion')).toHaveLength(oracle.events.length);

      let pid: number | undefined;
      for await (const event of runner.stream(slowRun)) {
        if (event.type === 'start') {
          pid = runner.pid;
          break;
        }
      }
      expect(pid).toBeDefined();
      expect(isRunning(pid!)).toBe(false);
    } finally {
      await runner.close();
    }
  });

  const parentScript = fileURLToPath(new URL('./helpers/parent-process.ts', import.meta.url));
  for (const mode of ['prefill', 'idle'] as const) {
    it(`the child dies when its parent is killed (${mode === 'prefill' ? 'mid-prefill: watchdog thread' : 'between runs: IPC disconnect'})`, async () => {
      const parent = spawn(process.execPath, ['--conditions=@icot/source', '--import', 'tsx', parentScript, mode, JSON.stringify(mode === 'prefill' ? slowRun : oracleRun)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const childPid = await new Promise<number>((resolve, reject) => {
          let out = '';
          parent.stdout.on('data', (chunk: Buffer) => {
            out += chunk;
            const match = /child (\d+)/.exec(out);
            if (match) resolve(Number(match[1]));
          });
          parent.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
        });
        if (mode === 'prefill') await new Promise((resolve) => setTimeout(resolve, 300));
        expect(isRunning(childPid)).toBe(true);
        parent.kill('SIGKILL');
        const ms = await waitForEnd(childPid, 5000);
        console.log(`runner: parent killed (${mode}) -> child ended after ${ms.toFixed(0)} ms`);
      } finally {
        parent.kill('SIGKILL');
      }
    });
  }
});
