import { describe, expect, it } from 'vitest';
import { OptionError } from '@icot/core';
import { describeSelectorConformance } from '@icot/testing';
import { createInfoGainSelector, InfoGainSelector } from './info-gain.js';
import { INFO_GAIN_DEFAULTS, regionSideFor, resolveInfoGainOptions } from './options.js';

describeSelectorConformance('info-gain', () => createInfoGainSelector(), { requires: { attention: true, fork: true } });
describeSelectorConformance('info-gain (sequential forks, 2 x 2 regions)', () => createInfoGainSelector({ batching: 'sequential', regionSize: 2, attentionCandidates: 12, randomCandidates: 12 }), {
  requires: { attention: true, fork: true },
});
describeSelectorConformance('info-gain (batched side runs only)', () => createInfoGainSelector({ batching: 'batched', batchSize: 3 }), { requires: { attention: true, batchedSideRuns: true } });
describeSelectorConformance('info-gain (context-enhanced attention)', () => createInfoGainSelector({ attention: 'context-enhanced', descriptionTokens: 3 }), { requires: { attention: true, fork: true } });

describe('createInfoGainSelector options', () => {
  it('fills in the defaults', () => {
    const selector = createInfoGainSelector();
    expect(selector).toBeInstanceOf(InfoGainSelector);
    expect(selector.name).toBe('info-gain');
    expect(selector.options).toMatchObject({ ...INFO_GAIN_DEFAULTS, rounds: undefined, regionSize: undefined });
    expect(selector.options.context.descriptionTokens).toBe(32);
  });

  it('takes JSON options as they come from a run description', () => {
    const options = JSON.parse('{"attentionCandidates":4,"randomCandidates":0,"rounds":2,"regionSize":3,"attention":"context-enhanced","batching":"sequential","batchSize":4,"layout":"source","descriptionTokens":8}');
    expect(createInfoGainSelector(options).options).toMatchObject({ attentionCandidates: 4, randomCandidates: 0, rounds: 2, regionSize: 3, attention: 'context-enhanced', batching: 'sequential', batchSize: 4, layout: 'source' });
  });

  it.each([
    [{ attentionCandidates: -1 }, /attentionCandidates must be an integer/],
    [{ randomCandidates: 1.5 }, /randomCandidates must be an integer/],
    [{ attentionCandidates: 0, randomCandidates: 0 }, /nothing to probe/],
    [{ rounds: 0 }, /rounds must be an integer in 1\.\./],
    [{ regionSize: '2' }, /regionSize must be an integer/],
    [{ batchSize: 0 }, /batchSize/],
    [{ batching: 'parallel' }, /unknown batching "parallel"/],
    [{ layout: 'diagonal' }, /unknown layout/],
    [{ attention: 'contextual' }, /unknown attention source/],
    [{ descriptionTokens: 0 }, /descriptionTokens/],
    [{ regionsize: 2 }, /unknown option 'regionsize'/],
  ])('refuses %j with an OptionError', (options, message) => {
    expect(() => createInfoGainSelector(options as never)).toThrow(OptionError);
    expect(() => createInfoGainSelector(options as never)).toThrow(message);
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveInfoGainOptions(null as never)).toThrow(OptionError);
    expect(() => resolveInfoGainOptions([] as never)).toThrow(/must be an object/);
  });

  it('sizes regions so about four fill k', () => {
    expect([1, 3, 4, 15, 16, 35, 36, 64, 100].map((k) => regionSideFor(k, undefined))).toEqual([1, 1, 1, 1, 2, 2, 3, 4, 5]);
    expect(regionSideFor(64, 2)).toBe(2);
  });
});
