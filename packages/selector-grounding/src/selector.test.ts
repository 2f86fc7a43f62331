import { describe, expect, it } from 'vitest';
import { createRandom, createSignalTrigger, generateICoT, gatherPositions, type DecodingSessionV2, type EncodedImage, type GroundedBox, type SelectionRequest, type SideRunContext } from '@icot/core';
import { createTestImage, createToyModel } from '@icot/core/test';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { topKIndices } from '@icot/selector-ads';
import { describeSelectorConformance } from '@icot/testing';
import type { Grounder, GroundingRequest, GroundingResult } from './grounder.js';
import { createGroundingSelector, GroundingSelector } from './selector.js';

// The toy model's tokenizer has no digits or parentheses: the VLM grounder cannot write a box
// there, so the suite checks the selector's contract through its ADS fallback.
describeSelectorConformance('grounding (vlm grounder)', () => createGroundingSelector(), { requires: { attention: true, fork: true } });
describeSelectorConformance('grounding (vlm grounder, noun phrases, free decoding)', () => createGroundingSelector({ text: 'noun-phrases', decoding: 'free', maxAnswerTokens: 4 }), {
  requires: { attention: true, fork: true },
});

/** A grounder of your own: boxes from a table, keyed by the text (the selector's extension point). */
class TableGrounder implements Grounder {
  readonly name = 'table';
  readonly requires = {};
  readonly asked: string[][] = [];
  constructor(private readonly table: Readonly<Record<string, readonly Omit<GroundedBox, 'text'>[]>>) {}
  ground(request: GroundingRequest): Promise<GroundingResult> {
    this.asked.push([...request.texts]);
    const boxes = request.texts.flatMap((text) => (this.table[text] ?? []).map((box) => ({ ...box, text })));
    return Promise.resolve(boxes.length ? { boxes, variant: 'table' } : { boxes, variant: 'table', failure: 'no such text in the table' });
  }
}

/** An 8 x 8 grid of 10 px patches (80 x 80 px). */
const image: EncodedImage = {
  grid: { rows: 8, cols: 8 },
  patchCount: 64,
  size: { width: 80, height: 80 },
  patchBox: (p) => ({ x: (p % 8) * 10, y: Math.floor(p / 8) * 10, width: 10, height: 10 }),
};
const scores = Float32Array.from({ length: 64 }, (_, p) => ((p * 37) % 64) / 64);
const request = (over: Partial<SelectionRequest> = {}): SelectionRequest => ({
  scores,
  image,
  cacheIndices: Int32Array.from({ length: 64 }, (_, p) => 10 + p),
  k: 4,
  exclude: new Set(),
  step: 5,
  stepText: 'The red square is in the top left corner.\n',
  random: createRandom(0),
  ...over,
});

describe('GroundingSelector with hand-made boxes', () => {
  it('selects the patches a box covers, reports the box and the variant, and no fallback', async () => {
    const grounder = new TableGrounder({ 'The red square is in the top left corner.': [{ x: 0, y: 0, width: 20, height: 20 }] });
    const selection = await new GroundingSelector({}, grounder).select(request());
    expect(selection.indices).toEqual([0, 1, 8, 9]);
    expect(selection.fallback).toBeUndefined();
    expect(selection.groundedBoxes).toEqual([{ x: 0, y: 0, width: 20, height: 20, text: 'The red square is in the top left corner.' }]);
    expect(selection.variant).toBe('table; the step; top-k by overlap');
  });

  it('grounds each noun phrase and selects from the union of their boxes', async () => {
    const grounder = new TableGrounder({ 'red square': [{ x: 0, y: 0, width: 10, height: 20 }], 'top left corner': [{ x: 70, y: 70, width: 10, height: 20 }] });
    const selection = await new GroundingSelector({ text: 'noun-phrases' }, grounder).select(request());
    expect(grounder.asked).toEqual([['red square', 'top left corner']]);
    // k = 4: patches 0, 8 and 63 overlap a box; the 4th is the most attended of the others (19: 19 * 37 % 64 = 63)
    expect(selection.indices).toEqual([0, 8, 19, 63]);
    expect(selection.fallback).toBeUndefined();
  });

  it("'covered' returns only covered patches (possibly fewer than k), the most attended when there are more", async () => {
    const grounder = new TableGrounder({ 'The red square is in the top left corner.': [{ x: 0, y: 0, width: 30, height: 30 }] });
    const covered = await new GroundingSelector({ patches: 'covered' }, grounder).select(request());
    const nine = [0, 1, 2, 8, 9, 10, 16, 17, 18];
    expect(covered.indices).toEqual(topKIndices(nine.map((p) => scores[p]!), 4).map((i) => nine[i]!).sort((a, b) => a - b));
    const small = new TableGrounder({ 'The red square is in the top left corner.': [{ x: 0, y: 0, width: 20, height: 10 }] });
    expect((await new GroundingSelector({ patches: 'covered' }, small).select(request())).indices).toEqual([0, 1]);
  });

  it('falls back to ADS, and says why, when there is nothing to ground', async () => {
    const grounder = new TableGrounder({});
    const selection = await new GroundingSelector({}, grounder).select(request({ stepText: '<|im_end|>\n' }));
    expect(selection).toEqual({ indices: topKIndices(scores, 4), fallback: { selector: 'ads', reason: 'the step has no text to ground' }, variant: 'table; the step; top-k by overlap' });
    expect(grounder.asked).toEqual([]);
    const phrases = await new GroundingSelector({ text: 'noun-phrases' }, grounder).select(request({ stepText: 'It is there.' }));
    expect(phrases.fallback).toEqual({ selector: 'ads', reason: 'the step has no noun phrase to ground' });
  });

  it("falls back to ADS with the grounder's reason when it finds no box", async () => {
    const selection = await new GroundingSelector({}, new TableGrounder({})).select(request({ exclude: new Set([1, 2]) }));
    expect(selection.indices).toEqual(topKIndices(scores, 4, new Set([1, 2])));
    expect(selection.fallback).toEqual({ selector: 'ads', reason: 'no such text in the table' });
  });

  it('falls back to ADS, keeping the boxes, when they cover no selectable patch', async () => {
    const text = 'The red square is in the top left corner.';
    const grounder = new TableGrounder({ [text]: [{ x: 0, y: 0, width: 10, height: 10 }] });
    const excluded = await new GroundingSelector({}, grounder).select(request({ exclude: new Set([0]) }));
    expect(excluded.fallback).toEqual({ selector: 'ads', reason: 'the grounded boxes overlap no selectable patch' });
    expect(excluded.indices).toEqual(topKIndices(scores, 4, new Set([0])));
    expect(excluded.groundedBoxes).toEqual([{ x: 0, y: 0, width: 10, height: 10, text }]);
    const thin = new TableGrounder({ [text]: [{ x: 0, y: 0, width: 2, height: 10 }] });
    const covered = await new GroundingSelector({ patches: 'covered' }, thin).select(request());
    expect(covered.fallback).toEqual({ selector: 'ads', reason: 'the grounded boxes cover no selectable patch by at least 0.5' });
  });

  it('declares what its grounder needs, besides attention', () => {
    expect(createGroundingSelector().requires).toEqual({ attention: true, fork: true });
    expect(new GroundingSelector({}, new TableGrounder({})).requires).toEqual({ attention: true });
  });
});

describe('the VLM grounder on the toy model', () => {
  it('falls back to ADS and says the tokenizer cannot write a box; side runs leave the main state as it was', async () => {
    const model = createToyModel({ grid: { rows: 4, cols: 4 } });
    const encoded = await model.encodeImage(createTestImage(40, 40));
    const prompt = await model.preparePrompt({ text: 'look at <image> and think.\n', images: [encoded] });
    const session = model.createSession();
    const first = await session.step({ segments: prompt.segments, positions: prompt.positions });
    const forks: DecodingSessionV2[] = [];
    const cacheIndices = prompt.images[0]!.cacheIndices;
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
    const toyScores = Float32Array.from({ length: 16 }, (_, p) => p / 16);
    const base = { scores: toyScores, image: encoded, cacheIndices, k: 3, exclude: new Set<number>(), step: 2, stepText: 'the red square.', random: createRandom(1), sideRuns };
    const constrained = await createGroundingSelector().select(base);
    expect(constrained.fallback?.selector).toBe('ads');
    expect(constrained.fallback?.reason).toMatch(/cannot write a box: its tokenizer has no single tokens for the digits and separators of the plain form/);
    expect(constrained.indices).toEqual([13, 14, 15]);
    expect(forks).toHaveLength(0); // nothing to run
    const free = await createGroundingSelector({ decoding: 'free', maxAnswerTokens: 6 }).select(base);
    expect(free.fallback?.reason).toMatch(/^the answer held no box: /);
    expect(forks).toHaveLength(1); // one side run, on a fork
    expect(session.length).toBe(prompt.length);
    for (const fork of forks) fork.dispose();
    session.dispose();
  });

  it('runs inside the ICoT loop on the toy model: every insertion says grounding fell back to ADS', async () => {
    const model = createToyModel();
    const encoded = await model.encodeImage(createTestImage(40, 40));
    const result = await generateICoT({
      model,
      prompt: { text: 'look at <image> and think.\n', images: [encoded] },
      selector: createGroundingSelector({ decoding: 'free', maxAnswerTokens: 3 }),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26] }, every: 1 }),
      maxNewTokens: 12,
    });
    expect(result.insertions.length).toBeGreaterThan(0);
    for (const insertion of result.insertions) {
      expect(insertion.selector).toBe('grounding');
      expect(insertion.fallback?.selector).toBe('ads');
      expect(insertion.variant).toBe('vlm: plain box text, free decoding; the step; top-k by overlap');
    }
  });
});
