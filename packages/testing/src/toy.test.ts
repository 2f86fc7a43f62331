import { SelectionError, type SelectionRequest } from '@icot/core';
import { createTestImage, createToyModel, MockDecoder, MockSelector, type ToyModelSettings } from '@icot/core/test';
import { describeDecoderConformance } from './decoder-conformance.js';
import { describeModelConformance } from './model-conformance.js';
import { describeSelectorConformance } from './selector-conformance.js';

// The suites run against the core test doubles too, so a suite that cannot pass is caught here.
const toy = (settings: ToyModelSettings, selector = new MockSelector()) => async () => ({
  model: createToyModel(settings),
  image: createTestImage(),
  promptText: 'describe <image> now',
  selector,
  decoder: new MockDecoder(),
});
const everything = { attention: true, kvCache: true, crop: false, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false } as const;
describeModelConformance('toy model', toy({}), everything);
describeModelConformance('toy model stating a context of 80 tokens', toy({ maxContextTokens: 80 }), { ...everything, maxContextTokens: 80 });
describeModelConformance('toy model with tiled images', toy({ tiles: { rows: 2, cols: 2 } }), { ...everything, tiledImages: true });
describeModelConformance(
  'toy model without attention, forks, side runs or pixels',
  toy({ attention: false, fork: false, batchedSideRuns: false, pixels: false }, new MockSelector({ requires: { attention: false } })),
  { ...everything, attention: false, layerAttention: false, fork: false, batchedSideRuns: false, pixels: false },
);

describeSelectorConformance('first-k mock selector', () => new MockSelector({ requires: { attention: false } }), { requires: { attention: false } });

/** A selector that uses every part of the selection context: scores, pixels, a fork and a batch of side runs. */
function probingSelector(): MockSelector {
  const requires = { attention: true, pixels: true, fork: true, batchedSideRuns: true };
  return new MockSelector({
    name: 'probing mock',
    requires,
    async select(request: SelectionRequest) {
      const { scores, pixels, sideRuns, image } = request;
      if (!scores || !pixels || !sideRuns) throw new SelectionError('the probing mock selector needs scores, pixels and side runs');
      const block = (patches: number[]) => sideRuns.model.family.insertionBlock({ image, patches, start: sideRuns.position, layout: 'grid' });
      const fork = sideRuns.fork();
      await fork.step(block([0]));
      fork.dispose();
      await sideRuns.sideRuns([block([0]), block([1])]);
      const order = Array.from(scores.keys()).filter((i) => !request.exclude.has(i));
      order.sort((a, b) => scores[b]! - scores[a]! || a - b);
      return { indices: order.slice(0, request.k).sort((a, b) => a - b) };
    },
  });
}
describeSelectorConformance('probing mock selector', probingSelector, { requires: { attention: true, pixels: true, fork: true, batchedSideRuns: true } });

describeDecoderConformance('mock decoder', () => new MockDecoder(), async () => ({ model: createToyModel(), image: createTestImage(), promptText: 'describe <image> now' }), {
  kvCache: false,
  inputInsertion: 'equal',
});
