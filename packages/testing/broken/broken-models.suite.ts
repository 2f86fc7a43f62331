// Deliberately broken implementations of the model spec, each breaking one capability it declares.
// Run by src/suites-catch-breakage.test.ts (not part of the normal test run): the conformance
// suite must fail exactly the tests of the broken promise.
import type { DecodingSessionV2, StepInput, VisionLanguageModelV2 } from '@icot/core';
import { createTestImage, createToyModel, MockDecoder, MockSelector } from '@icot/core/test';
import { describeModelConformance } from '../src/model-conformance.js';

const everything = { attention: true, kvCache: true, crop: false, layerAttention: true, fork: true, batchedSideRuns: true, pixels: true, tiledImages: false } as const;

const setup = (model: VisionLanguageModelV2) => async () => ({ model, image: createTestImage(), promptText: 'describe <image> now', selector: new MockSelector(), decoder: new MockDecoder() });

// fork returns the session itself: the fork's steps change the original
{
  const model = createToyModel();
  const sharing: VisionLanguageModelV2 = {
    ...model,
    createSession: () => {
      const session = model.createSession();
      return Object.assign(session, { fork: () => session });
    },
  };
  describeModelConformance('broken: a fork is the session itself', setup(sharing), everything);
}
// side runs that run on the real cache
{
  const model = createToyModel();
  const leaking: VisionLanguageModelV2 = {
    ...model,
    createSession: () => {
      const session = model.createSession();
      return Object.assign(session, { sideRuns: async (inputs: readonly StepInput[]) => Promise.all(inputs.map((input) => session.step(input))) });
    },
  };
  describeModelConformance('broken: side runs extend the cache', setup(leaking), everything);
}
// per-layer attention that is the average of all layers whatever is asked
{
  const model = createToyModel();
  const averaging: VisionLanguageModelV2 = {
    ...model,
    createSession: () => {
      const session = model.createSession();
      const step = session.step.bind(session);
      return Object.assign(session, {
        step: async (input: StepInput) => {
          if (!input.layerAttention) return step(input);
          const out = await step({ ...input, attention: true, layerAttention: undefined });
          return { logits: out.logits, ...(input.attention ? { attention: out.attention } : {}), layerAttention: out.attention };
        },
      });
    },
  };
  describeModelConformance('broken: layer attention ignores the layers', setup(averaging), everything);
}
// forks that die with the session they came from
{
  const model = createToyModel();
  const dying: VisionLanguageModelV2 = {
    ...model,
    createSession: () => {
      const session = model.createSession();
      const children: DecodingSessionV2[] = [];
      const fork = session.fork!.bind(session);
      const dispose = session.dispose.bind(session);
      return Object.assign(session, {
        fork: () => {
          const child = fork();
          children.push(child);
          return child;
        },
        dispose: () => {
          for (const child of children) child.dispose();
          dispose();
        },
      });
    },
  };
  describeModelConformance('broken: disposing a session frees its forks', setup(dying), everything);
}
// capabilities claimed but not kept
{
  const model = createToyModel({ pixels: false });
  describeModelConformance('broken: claims pixels it does not keep', setup({ ...model, capabilities: { ...model.capabilities, pixels: true } }), everything);
}
describeModelConformance('broken: claims tiled images', setup({ ...createToyModel(), capabilities: { ...createToyModel().capabilities, tiledImages: true } }), { ...everything, tiledImages: true });
// a context length stated wrongly (a backend reading the wrong config field): the model's sessions hold 80 tokens, it states 96
{
  const model = createToyModel({ maxContextTokens: 80 });
  describeModelConformance('broken: states a longer context than it has', setup({ ...model, maxContextTokens: 96 }), { ...everything, maxContextTokens: 80 });
}
