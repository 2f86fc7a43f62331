import { describe, expect, it } from 'vitest';
import { createRandom, gatherByCacheIndex, gatherPositions, OptionError, type DecodingSessionV2, type SelectionRequest, type SideRunContext } from '@icot/core';
import { createTestImage, createToyModel, TOY_EOS_TOKEN } from '@icot/core/test';
import { describeSelectorConformance } from '@icot/testing';
import { AdsSelector, ContextEnhancedAdsSelector, createAdsSelector, topKIndices } from './ads.js';
import { readContextEnhancedAttention, resolveContextSettings } from './context-attention.js';

describeSelectorConformance('ADS (context-enhanced attention)', () => createAdsSelector({ attention: 'context-enhanced', descriptionTokens: 4 }), { requires: { attention: true, fork: true } });

/** A prefilled toy session and a selection request at its signal token, with side runs. */
async function selectionAt(settings: Parameters<typeof createToyModel>[0] = {}) {
  const model = createToyModel({ grid: { rows: 4, cols: 4 }, ...settings });
  const image = await model.encodeImage(createTestImage(40, 40));
  const prompt = await model.preparePrompt({ text: 'what is in <image>? think.\n', images: [image] });
  const session = model.createSession();
  const first = await session.step({ segments: prompt.segments, positions: prompt.positions, attention: true });
  const cacheIndices = prompt.images[0]!.cacheIndices;
  const forks: DecodingSessionV2[] = [];
  const sideRuns: SideRunContext = {
    model,
    position: prompt.nextPosition,
    logits: first.logits,
    imagePositions: gatherPositions(prompt.positions, cacheIndices),
    fork: () => {
      const fork = session.fork!();
      forks.push(fork);
      return fork;
    },
    sideRuns: (inputs) => session.sideRuns!(inputs),
  };
  const request: SelectionRequest = {
    scores: gatherByCacheIndex(first.attention!, cacheIndices),
    image,
    cacheIndices,
    k: 3,
    exclude: new Set(),
    step: 4,
    stepText: 'think.\n',
    sideRuns,
    random: createRandom(1),
  };
  return { model, session, request, prompt, first, forks };
}

describe('context-enhanced attention', () => {
  it('reads the readout token attention after a greedy description on a fork, as a replay on a fresh session does', async () => {
    const { model, session, request, prompt, first } = await selectionAt();
    const settings = resolveContextSettings({ descriptionPrompt: 'describe it:', descriptionTokens: 5, readoutText: '\n' }, 'test');
    const before = session.length;
    const read = await readContextEnhancedAttention(request, settings);
    expect(read).toBeDefined();
    expect(session.length).toBe(before); // the main cache is untouched

    // replay by hand on a fresh session: prompt, description prompt, greedy tokens, readout
    const replay = model.createSession();
    await replay.step({ segments: prompt.segments, positions: prompt.positions });
    let position = prompt.nextPosition;
    const promptIds = model.tokenizer.encode('describe it:');
    let out = await replay.step({ segments: [{ type: 'tokens', ids: promptIds }], positions: model.family.textPositions(position, promptIds.length) });
    position += promptIds.length;
    const suppressed = new Set(model.family.suppressedTokenIds);
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      let best = -1;
      for (let v = 0; v < out.logits.length; v++) if (!suppressed.has(v) && (best < 0 || out.logits[v]! > out.logits[best]!)) best = v;
      if (best === TOY_EOS_TOKEN) break;
      tokens.push(best);
      out = await replay.step({ segments: [{ type: 'tokens', ids: [best] }], positions: model.family.textPositions(position++, 1) });
    }
    const readout = await replay.step({ segments: [{ type: 'tokens', ids: [model.tokenizer.encode('\n')[0]!] }], positions: model.family.textPositions(position, 1), attention: true });
    expect(read!.description).toEqual(tokens);
    expect(Array.from(read!.scores)).toEqual(Array.from(gatherByCacheIndex(readout.attention!, request.cacheIndices)));
    // it is not the signal token's row
    expect(Array.from(read!.scores)).not.toEqual(Array.from(gatherByCacheIndex(first.attention!, request.cacheIndices)));
  });

  it('says there is no room when the context cannot hold the description', async () => {
    const { request, session } = await selectionAt({ maxContextTokens: 40 });
    expect(session.length).toBeGreaterThan(20);
    const settings = resolveContextSettings({ descriptionPrompt: 'x'.repeat(30) }, 'test');
    expect(await readContextEnhancedAttention(request, settings)).toBeUndefined();
  });
});

describe('ADS with context-enhanced attention', () => {
  it('selects the top-k of the context-enhanced scores and reports the variant', async () => {
    const { request } = await selectionAt();
    const selector = createAdsSelector({ attention: 'context-enhanced', descriptionTokens: 6 });
    expect(selector).toBeInstanceOf(ContextEnhancedAdsSelector);
    expect(selector.requires).toEqual({ attention: true, fork: true });
    const selection = await selector.select(request);
    const enhanced = await readContextEnhancedAttention(request, resolveContextSettings({ descriptionTokens: 6 }, 'test'));
    expect(selection).toEqual({ indices: topKIndices(enhanced!.scores, 3), variant: 'context-enhanced attention' });
  });

  it('falls back to the signal attention and says so when the context is full', async () => {
    const { request } = await selectionAt({ maxContextTokens: 40 });
    const selection = await createAdsSelector({ attention: 'context-enhanced', descriptionPrompt: 'y'.repeat(30) }).select(request);
    expect(selection.indices).toEqual(topKIndices(request.scores!, 3));
    expect(selection.variant).toMatch(/^signal attention \(no room/);
  });

  it('stays the plain synchronous selector by default, with no variant', () => {
    const selector = createAdsSelector();
    expect(selector).toBeInstanceOf(AdsSelector);
    expect(createAdsSelector({ attention: 'signal' })).toBeInstanceOf(AdsSelector);
  });

  it('refuses bad settings with OptionErrors', () => {
    expect(() => createAdsSelector({ attention: 'contextual' as never })).toThrow(OptionError);
    expect(() => createAdsSelector({ attention: 'context-enhanced', descriptionTokens: 0 })).toThrow(OptionError);
    expect(() => createAdsSelector({ attention: 'context-enhanced', descriptionTokens: 2.5 })).toThrow(/descriptionTokens/);
    expect(() => createAdsSelector({ readoutText: '' })).toThrow(OptionError);
    expect(() => createAdsSelector({ descriptionPrompt: 3 as never })).toThrow(/descriptionPrompt/);
    expect(() => createAdsSelector({ descriptonTokens: 4 } as never)).toThrow(/Unknown option 'descriptonTokens' of the ads selector/);
  });
});
