import { describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import type { RunDescription } from '../src/index.js';
import { createStrategies } from '../src/in-process.js';

const base: RunDescription = { model: { source: '/models/any' }, images: [{ path: 'image.png' }], prompt: { question: 'What is shown?' } };

describe('createStrategies: every selector and trigger by name, with its options', () => {
  it.each([
    ['ads', {}, 'ads'],
    ['random', {}, 'random'],
    ['grounding', {}, 'grounding'],
    ['segmentation', { segments: 30 }, 'segmentation'],
    ['info-gain', { rounds: 2 }, 'info-gain'],
  ] as const)('selector %s', (name, options, expected) => {
    const { selector } = createStrategies({ ...base, selector: { name, options } });
    expect(selector.name).toMatch(new RegExp(`^${expected}`));
  });

  it.each([
    ['attention-shift', { delta: 0.2 }, /^attention-shift\(delta=0\.2/],
    ['probability-gap', { threshold: 0.3 }, /^probability-gap\(threshold=0\.3/],
  ] as const)('trigger %s', (name, options, expected) => {
    expect(createStrategies({ ...base, trigger: { name, options } }).trigger.name).toMatch(expected);
  });

  it('the signal trigger stays the default', () => {
    expect(createStrategies(base).trigger.name).toBe('newline(every=2)');
  });

  it.each([
    ['an unknown selector option', { ...base, selector: { name: 'segmentation', options: { nSegments: 100 } } }, /nSegments/],
    ['an unknown ads option', { ...base, selector: { name: 'ads', options: { k: 3 } } }, /Unknown option 'k' of the ads selector/],
    ['options for random', { ...base, selector: { name: 'random', options: { seed: 1 } } }, /random selector takes no options/],
    ['an unknown trigger', { ...base, trigger: { name: 'sometimes' } }, /Trigger 'sometimes' is not supported/],
    ['options for the signal trigger', { ...base, trigger: { options: { every: 2 } } }, /signal trigger takes no options object/],
    ['signal settings on another trigger', { ...base, trigger: { name: 'attention-shift', every: 2 } }, /belong to the signal trigger/],
    ['options that are not an object', { ...base, selector: { name: 'info-gain', options: [1] } }, /must be an object/],
    ['a bad trigger value', { ...base, trigger: { name: 'probability-gap', options: { threshold: 2 } } }, /threshold/],
  ])('refuses %s with an OptionError', (_what, description, message) => {
    expect(() => createStrategies(description as RunDescription)).toThrow(OptionError);
    expect(() => createStrategies(description as RunDescription)).toThrow(message);
  });
});
