import { describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { fixturePath, loadOracle } from '@icot/testing';
import { checkRunDescription, checkSignalTokenIds, type RunDescription } from './description.js';
import { executeRun } from './in-process.js';
import { createStrategies } from './strategies.js';

const oracle = loadOracle('tiny-qwen2-vl');
const run = (tokenIds: readonly unknown[]): RunDescription =>
  ({
    model: { source: fixturePath('tiny-qwen2-vl') },
    images: [{ path: fixturePath('tiny-qwen2-vl', 'image.png') }],
    prompt: { text: oracle.prompt_text },
    trigger: { signal: { tokenIds } },
    maxNewTokens: 4,
  }) as RunDescription;

async function optionError(action: () => unknown): Promise<OptionError> {
  const error = await Promise.resolve().then(action).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OptionError);
  return error as OptionError;
}

describe('signal token ids', () => {
  it('refuses an empty list up front, naming the newline signal as the fix', async () => {
    const error = await optionError(() => checkRunDescription(run([])));
    expect(error.message).toMatch(/signal token id list is empty/);
    expect(error.hint).toMatch(/--signal newline/);
  });

  it('refuses ids that are not integers >= 0, naming them', async () => {
    const error = await optionError(() => checkRunDescription(run([198, -1, 2.5, '7'])));
    expect(error.message).toBe('Signal token ids must be integers >= 0, got -1, 2.5, "7".');
  });

  it("refuses ids outside the model's vocabulary, naming the ids and the vocabulary size", async () => {
    expect(() => checkSignalTokenIds([0, 487], 488)).not.toThrow();
    const one = await optionError(() => checkSignalTokenIds([198, 488], 488));
    expect(one.message).toMatch(/^Signal token id 488 is outside the model's vocabulary of 488 tokens \(ids 0-487\)/);
    const two = await optionError(() => createStrategies(run([70000, 5, 151643]), { vocabSize: 488 }));
    expect(two.message).toMatch(/^Signal token ids 70000, 151643 are outside the model's vocabulary of 488 tokens/);
    expect(two.hint).toMatch(/--signal newline/);
    expect(() => createStrategies(run([70000]))).not.toThrow(); // without a model there is no vocabulary to check against
  });

  it('checks them against the loaded model before the run starts', async () => {
    const events: string[] = [];
    const error = await optionError(() => executeRun(run([...oracle.signal_token_ids, 5000]), { onEvent: (e) => events.push(e.type) }));
    expect(error.message).toMatch(/Signal token id 5000 is outside the model's vocabulary of 488 tokens/);
    expect(events).not.toContain('start'); // refused before the prefill
    const ok = await executeRun(run(oracle.signal_token_ids));
    expect(ok.result.tokens).toHaveLength(4);
  });
});
