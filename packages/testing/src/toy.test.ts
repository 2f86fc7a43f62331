import { createTestImage, createToyModel, MockDecoder, MockSelector } from '@icot/core/test';
import { describeDecoderConformance } from './decoder-conformance.js';
import { describeModelConformance } from './model-conformance.js';
import { describeSelectorConformance } from './selector-conformance.js';

// The suites run against the core test doubles too, so a suite that cannot pass is caught here.
describeModelConformance(
  'toy model',
  async () => ({ model: createToyModel(), image: createTestImage(), promptText: 'describe <image> now', selector: new MockSelector(), decoder: new MockDecoder() }),
  { attention: true, kvCache: true, crop: false },
);
describeModelConformance(
  'toy model without attention',
  async () => ({ model: createToyModel({ attention: false }), image: createTestImage(), promptText: 'describe <image> now', selector: new MockSelector({ requiresAttention: false }), decoder: new MockDecoder() }),
  { attention: false, kvCache: true, crop: false },
);
describeSelectorConformance('first-k mock selector', () => new MockSelector({ requiresAttention: false }), { requiresAttention: false });
describeDecoderConformance('mock decoder', () => new MockDecoder(), async () => ({ model: createToyModel(), image: createTestImage(), promptText: 'describe <image> now' }), {
  kvCache: false,
  inputInsertion: 'equal',
});
