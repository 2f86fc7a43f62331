import { describe, expect, it } from 'vitest';
import { PromptError } from './errors.js';
import { generateICoT, type ICoTEvent, type ICoTResult } from './generate.js';
import { createTestImage, createToyModel, MockDecoder, MockSelector, MockTrigger } from './test/index.js';

/** The toy prompt: 5 text tokens, the 16 patches of a 4x4 image, 11 text tokens. */
const PROMPT_TOKENS = 32;

/**
 * A toy model stating a context of `maxContextTokens` (its sessions throw past it, as a position
 * table would), without end-of-sequence tokens so that only the limits end a run.
 */
async function setup(maxContextTokens: number | undefined) {
  const toy = createToyModel(maxContextTokens === undefined ? {} : { maxContextTokens });
  const model = { ...toy, eosTokenIds: [] };
  const image = await model.encodeImage(createTestImage(32, 32));
  return { model, prompt: { text: 'look <image> and think.', images: [image] } };
}

const total = (result: ICoTResult): number => result.usage.promptTokens + result.usage.generatedTokens + result.usage.insertedTokens;

describe("the ICoT loop and the model's context length", () => {
  it('stops with finish reason context-limit when the context is full, never past it', async () => {
    const { model, prompt } = await setup(PROMPT_TOKENS + 20);
    const events: ICoTEvent[] = [];
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 5000, onEvent: (e) => events.push(e) });
    expect(result.finishReason).toBe('context-limit');
    expect(result.usage).toEqual({ promptTokens: PROMPT_TOKENS, generatedTokens: 20, insertedTokens: 0 });
    expect(total(result)).toBe(PROMPT_TOKENS + 20);
    // prefill + 19 fed tokens: the last token is predicted from a full context and never fed
    expect(model.steps).toHaveLength(1 + 19);
    expect(result.settings.maxContextTokens).toBe(PROMPT_TOKENS + 20);
    expect(events[0]).toMatchObject({ type: 'start', settings: { maxContextTokens: PROMPT_TOKENS + 20 } });
  });

  it('ends with length when maxNewTokens comes first', async () => {
    const { model, prompt } = await setup(PROMPT_TOKENS + 20);
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 19 });
    expect(result.finishReason).toBe('length');
    expect(result.tokens).toHaveLength(19);
  });

  it('counts inserted tokens: an insertion that fits is made, and the text goes on to the limit', async () => {
    // step 2: 32 + 3 tokens + 3 patches = 38; step 5: 38 + 3 tokens + 3 patches = 44 < 45; one more token fills it
    const { model, prompt } = await setup(45);
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [2, 5] }), k: 3, maxNewTokens: 100 });
    expect(result.insertions.map((i) => i.step)).toEqual([2, 5]);
    expect(result.finishReason).toBe('context-limit');
    expect(result.tokens).toHaveLength(7);
    expect(total(result)).toBe(45);
  });

  it('ends the run where an insertion would leave no room for a token after it', async () => {
    // at step 5 the context holds 41 tokens; the 3-patch block would make 44, and 44 >= 43 leaves no room
    for (const limit of [42, 43, 44]) {
      const { model, prompt } = await setup(limit);
      const selector = new MockSelector();
      const result = await generateICoT({ model, prompt, selector, decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [2, 5] }), k: 3, maxNewTokens: 100 });
      expect(result.insertions.map((i) => i.step)).toEqual([2]);
      expect(result.finishReason).toBe('context-limit');
      expect(result.tokens).toHaveLength(6);
      expect(total(result)).toBe(41);
      expect(selector.requests).toHaveLength(2); // the selection ran; its block did not fit
    }
  });

  it('ends the run before any text when the insertion after the prompt does not fit', async () => {
    const { model, prompt } = await setup(PROMPT_TOKENS + 3);
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), k: 3, insertAfterPrompt: true, maxNewTokens: 10 });
    expect(result).toMatchObject({ finishReason: 'context-limit', tokens: [], insertions: [] });
    const roomy = await setup(PROMPT_TOKENS + 4);
    const after = await generateICoT({ ...roomy, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), k: 3, insertAfterPrompt: true, maxNewTokens: 10 });
    expect(after.insertions.map((i) => i.step)).toEqual([-1]);
    expect(after.tokens).toHaveLength(1);
    expect(total(after)).toBe(PROMPT_TOKENS + 4);
  });

  it('refuses a prompt that leaves no room for an answer, before the prefill', async () => {
    const { model, prompt } = await setup(PROMPT_TOKENS);
    const run = generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 10 });
    await expect(run).rejects.toBeInstanceOf(PromptError);
    await expect(run).rejects.toThrow(/The prompt is 32 tokens .* context of 32 tokens/);
    expect(model.steps).toHaveLength(0);
    const oneToken = await setup(PROMPT_TOKENS + 1);
    const result = await generateICoT({ ...oneToken, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 10 });
    expect(result).toMatchObject({ finishReason: 'context-limit', usage: { generatedTokens: 1 } });
  });

  it('runs without a limit when the model states none', async () => {
    const { model, prompt } = await setup(undefined);
    const result = await generateICoT({ model, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger({ steps: [1] }), k: 3, maxNewTokens: 300 });
    expect(result.settings.maxContextTokens).toBeUndefined();
    expect(result.finishReason).toBe('length');
    expect(result.tokens).toHaveLength(300);
  });

  it('rejects a model that states a context length that is not a positive integer', async () => {
    const { model, prompt } = await setup(undefined);
    for (const bad of [0, -5, 1.5, Number.NaN])
      await expect(
        generateICoT({ model: { ...model, maxContextTokens: bad }, prompt, selector: new MockSelector(), decoder: new MockDecoder(), trigger: new MockTrigger(), maxNewTokens: 3 }),
      ).rejects.toMatchObject({ code: 'internal' });
  });
});
