import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { createSignalTrigger } from './trigger.js';

const ctx = (step: number, token: number, tokenText = 'x') => ({ step, token, tokenText, insertions: 0, signals: {} });

describe('createSignalTrigger', () => {
  it('fires on every n-th signal token id', () => {
    const run = createSignalTrigger({ signal: { tokenIds: [7, 9] }, every: 2 }).start();
    const fired = [7, 1, 9, 7, 7, 2, 9].map((t, i) => run.onToken(ctx(i, t)));
    expect(fired).toEqual([false, false, true, false, true, false, false]);
  });

  it('detects line breaks in token text by default', () => {
    const run = createSignalTrigger().start();
    expect(run.onToken(ctx(0, 5, 'a'))).toBe(false);
    expect(run.onToken(ctx(1, 6, '.\n'))).toBe(true);
    expect(run.onToken(ctx(2, 7, '\n\n'))).toBe(true);
  });

  it('keeps a fresh count per run and asks for no per-step signals', () => {
    const trigger = createSignalTrigger({ signal: { tokenIds: [1] }, every: 2 });
    const a = trigger.start();
    a.onToken(ctx(0, 1));
    const b = trigger.start();
    expect(b.onToken(ctx(0, 1))).toBe(false);
    expect(trigger.signals).toBeUndefined();
    expect(trigger.specificationVersion).toBe('v2');
  });

  it('rejects bad settings', () => {
    expect(() => createSignalTrigger({ every: 0 })).toThrow(OptionError);
    expect(() => createSignalTrigger({ signal: { tokenIds: [] } })).toThrow(OptionError);
  });
});
