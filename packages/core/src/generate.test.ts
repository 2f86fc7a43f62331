import { describe, expect, it } from 'vitest';
import { AbortedError, AttentionUnavailableError, OptionError, PromptError, SelectionError } from './errors.js';
import { generateICoT, streamICoT, type ICoTEvent } from './generate.js';
import { createSignalTrigger } from './trigger.js';
import { createTestImage, createToyModel, MockDecoder, MockSelector, MockTrigger, TOY_EOS_TOKEN } from './test/index.js';

async function setup(settings: Parameters<typeof createToyModel>[0] = {}) {
  const model = createToyModel(settings);
  const image = await model.encodeImage(createTestImage(32, 32));
  return { model, image, prompt: { text: 'look <image> and think.', images: [image] } };
}

describe('streamICoT', () => {
  it('inserts at trigger steps, feeding the attention of the signal token (no extra forward pass)', async () => {
    const { model, prompt, image } = await setup();
    const selector = new MockSelector();
    const decoder = new MockDecoder();
    const result = await generateICoT({ model, prompt, selector, decoder, trigger: new MockTrigger({ steps: [2, 5] }), k: 3, maxNewTokens: 10 });
    expect(result.insertions.map((i) => i.step)).toEqual([2, 5]);
    expect(result.insertions[0]!.selected).toEqual([0, 1, 2]);
    expect(result.insertions[0]!.boxes).toEqual([0, 1, 2].map((i) => image.patchBox(i)));
    // scores come from the row of the step that consumed the signal token: one step per token, plus one per insertion
    expect(model.steps.filter((s) => s.attention).length).toBe(2);
    expect(model.steps.length).toBe(1 + 9 + 2); // prefill + 9 fed tokens (the last is not fed) + 2 blocks
    expect(selector.requests[0]!.scores).toHaveLength(image.patchCount);
    expect(decoder.requests[0]!.position).toBe(result.insertions[0]!.position);
    expect(result.usage.insertedTokens).toBe(6);
    expect(result.tokens).toHaveLength(10);
    expect(result.finishReason).toBe('length');
  });

  it("records the query image's whole attention row per insertion, and the layout to draw it", async () => {
    const { model, prompt, image } = await setup();
    // a selector that picks the k highest scores, so the recorded row must explain the choice
    const topK = new MockSelector({
      select: (request) => ({
        indices: Array.from(request.scores!, (score, i) => [score, i] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, request.k)
          .map(([, i]) => i)
          .sort((a, b) => a - b),
      }),
    });
    const result = await generateICoT({ model, prompt, selector: topK, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1, 4] }), k: 3, maxNewTokens: 8 });
    expect(result.insertions).toHaveLength(2);
    result.insertions.forEach((insertion, n) => {
      expect(insertion.attention).toHaveLength(image.patchCount);
      expect(insertion.attention).toEqual(Array.from(topK.requests[n]!.scores!));
      expect(insertion.scores).toEqual(insertion.selected.map((i) => insertion.attention![i]));
      const threshold = Math.min(...insertion.scores);
      expect(insertion.attention!.filter((score) => score > threshold).length).toBeLessThan(3);
    });
    expect(result.insertions[0]!.attention).not.toEqual(result.insertions[1]!.attention); // each insertion's own row
    expect(result.queryImage).toEqual({
      index: 0,
      size: { width: 32, height: 32 },
      patchCount: 16,
      tiles: [{ grid: { rows: 4, cols: 4 }, firstPatch: 0, box: { x: 0, y: 0, width: 32, height: 32 }, place: { row: 0, col: 0 } }],
      patchBoxes: Array.from({ length: 16 }, (_, i) => image.patchBox(i)),
    });
    expect(structuredClone(result.queryImage)).toEqual(result.queryImage); // plain data
  });

  it('records no attention row when the selector uses none, and every tile of a tiled query image', async () => {
    const model = createToyModel({ grid: { rows: 2, cols: 2 }, tiles: { rows: 1, cols: 2 } });
    const image = await model.encodeImage(createTestImage(40, 20));
    const blind = new MockSelector({ requires: { attention: false } });
    const result = await generateICoT({ model, prompt: { text: 'look <image> and think.', images: [image] }, selector: blind, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [0] }), k: 2, maxNewTokens: 3 });
    expect(result.insertions[0]!.attention).toBeNull();
    expect(result.insertions[0]!.scores).toEqual([]);
    expect(result.queryImage.patchCount).toBe(12);
    expect(result.queryImage.tiles.map((t) => [t.firstPatch, t.place])).toEqual([[0, { row: 0, col: 0 }], [4, { row: 0, col: 1 }], [8, 'global']]);
    expect(result.queryImage.patchBoxes).toEqual(Array.from({ length: 12 }, (_, i) => image.patchBox(i)));
  });

  it('restricts the attention row to the query image span', async () => {
    const { model, prompt } = await setup();
    const prepared = await model.preparePrompt(prompt);
    const selector = new MockSelector();
    const steps: { attention?: Float32Array }[] = [];
    const spy = {
      ...model,
      createSession: () => {
        const s = model.createSession();
        return {
          get length() {
            return s.length;
          },
          step: async (input: Parameters<typeof s.step>[0]) => {
            const out = await s.step(input);
            steps.push(out);
            return out;
          },
          dispose: () => s.dispose(),
        };
      },
    };
    await generateICoT({ model: spy, prompt: prepared, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), k: 2, maxNewTokens: 4 });
    const row = steps.find((s) => s.attention)!.attention!;
    const map = prepared.images[0]!.cacheIndices;
    expect(Array.from(map)).toEqual(Array.from({ length: 16 }, (_, i) => map[0]! + i)); // a single-grid image is one run
    expect(Array.from(selector.requests[0]!.scores!)).toEqual(Array.from(map, (c) => row[c]!));
  });

  it('emits start, token, text-delta, insertion and finish events in order', async () => {
    const { model, prompt } = await setup();
    const events: ICoTEvent[] = [];
    for await (const e of streamICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), k: 2, maxNewTokens: 5 }))
      events.push(e);
    expect(events[0]!.type).toBe('start');
    expect(events.at(-1)!.type).toBe('finish');
    const insertionAt = events.findIndex((e) => e.type === 'insertion');
    expect(events.slice(0, insertionAt).filter((e) => e.type === 'token')).toHaveLength(2);
    const text = events.filter((e) => e.type === 'text-delta').map((e) => (e as { text: string }).text).join('');
    const finish = events.at(-1) as Extract<ICoTEvent, { type: 'finish' }>;
    expect(text).toBe(finish.result.text);
  });

  it('respects maxInsertions and keeps counting signals after the budget', async () => {
    const { model, prompt } = await setup();
    const trigger = new MockTrigger({ steps: [0, 1, 2, 3, 4] });
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger, k: 1, maxInsertions: 2, maxNewTokens: 8 });
    expect(result.insertions.map((i) => i.step)).toEqual([0, 1]);
    expect(trigger.contexts.length).toBe(7);
  });

  it('with maxInsertions 0 decodes plainly and never asks for attention', async () => {
    const { model, prompt } = await setup({ attention: false });
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [0, 1] }), maxInsertions: 0, maxNewTokens: 6 });
    expect(result.insertions).toEqual([]);
    expect(model.steps.every((s) => !s.attention)).toBe(true);
  });

  it('inserts right after the prompt when asked, with step -1', async () => {
    const { model, prompt } = await setup();
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), insertAfterPrompt: true, k: 2, maxNewTokens: 3 });
    expect(result.insertions.map((i) => [i.step, i.token])).toEqual([[-1, null]]);
    expect(model.steps[0]!.attention).toBe(true);
  });

  it('excludes earlier picks when asked', async () => {
    const { model, prompt } = await setup();
    const selector = new MockSelector();
    const result = await generateICoT({ model, prompt, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [0, 1] }), k: 3, excludeSelected: true, maxNewTokens: 4 });
    expect(result.insertions.map((i) => i.selected)).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('stops at an end-of-sequence token and keeps it out of the text', async () => {
    const { model, prompt } = await setup();
    const eosModel = { ...model, eosTokenIds: [...model.eosTokenIds, ...Array.from({ length: 32 }, (_, i) => i)] };
    const result = await generateICoT({ model: eosModel, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 10 });
    expect(result.finishReason).toBe('eos');
    expect(result.tokens).toHaveLength(1);
    expect(result.text).toBe('');
    void TOY_EOS_TOKEN;
  });

  it('is deterministic under greedy and seeded sampling', async () => {
    const { model, prompt } = await setup();
    const run = (sampling?: { temperature: number; seed: number }) =>
      generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: createSignalTrigger({ signal: { tokenIds: [0, 1, 2, 3, 4, 5] } }), maxNewTokens: 20, ...(sampling ? { sampling } : {}) });
    expect((await run()).tokens).toEqual((await run()).tokens);
    const a = await run({ temperature: 1, seed: 5 });
    expect((await run({ temperature: 1, seed: 5 })).tokens).toEqual(a.tokens);
    expect((await run({ temperature: 1, seed: 6 })).tokens).not.toEqual(a.tokens);
  });

  it('rejects bad input with typed errors', async () => {
    const { model, prompt, image } = await setup();
    const base = { model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger() };
    await expect(generateICoT({ ...base, k: 17 })).rejects.toBeInstanceOf(SelectionError);
    await expect(generateICoT({ ...base, maxNewTokens: 0 })).rejects.toBeInstanceOf(OptionError);
    await expect(generateICoT({ ...base, prompt: { text: 'no image here', images: [] } })).rejects.toBeInstanceOf(PromptError);
    await expect(generateICoT({ ...base, prompt: { text: 'no placeholder', images: [image] } })).rejects.toBeInstanceOf(PromptError);
    const blind = await setup({ attention: false });
    await expect(generateICoT({ ...base, model: blind.model, prompt: blind.prompt })).rejects.toBeInstanceOf(AttentionUnavailableError);
  });

  it('stops with AbortedError and releases the session when cancelled', async () => {
    const { model, prompt } = await setup();
    const controller = new AbortController();
    const stream = streamICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 50, signal: controller.signal });
    let tokens = 0;
    await expect(
      (async () => {
        for await (const e of stream) {
          if (e.type === 'token' && ++tokens === 3) controller.abort();
        }
      })(),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(tokens).toBe(3);
  });

  it('releases the session when onEvent throws, at the start, mid-run and at the finish', async () => {
    for (const failAt of ['start', 'token', 'insertion', 'finish'] as const) {
      const { model, prompt } = await setup();
      const sessions: { disposed: boolean }[] = [];
      const recording = {
        ...model,
        createSession: () => {
          const session = model.createSession();
          const record = { disposed: false };
          sessions.push(record);
          return {
            get length() {
              return session.length;
            },
            step: (input: Parameters<typeof session.step>[0]) => session.step(input),
            dispose: () => {
              record.disposed = true;
              session.dispose();
            },
          };
        },
      };
      const failure = new Error(`listener failed at ${failAt}`);
      const onEvent = (event: ICoTEvent) => {
        if (event.type === failAt) throw failure;
      };
      await expect(
        generateICoT({ model: recording, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), k: 2, maxNewTokens: 5, onEvent }),
      ).rejects.toBe(failure);
      // `start` comes before the session exists; every session that was opened is released
      expect(sessions.length).toBe(failAt === 'start' ? 0 : 1);
      expect(sessions.every((s) => s.disposed)).toBe(true);
    }
  });

  it('rejects invalid selections from a selector', async () => {
    const { model, prompt } = await setup();
    const bad = new MockSelector({ select: () => ({ indices: [3, 1] }) });
    await expect(generateICoT({ model, prompt, selector: bad, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [0] }), k: 2, maxNewTokens: 3 })).rejects.toBeInstanceOf(SelectionError);
  });
});
