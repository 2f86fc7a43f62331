import type { DecodingSessionV2, StepInput, StepOutput, VisionLanguageModelV2 } from '@icot/core';
import { createToyModel, type ToyModelSettings } from '@icot/core/test';

/**
 * A piece of evidence in the image: inserting its patches sharpens the next-token distribution by
 * `strength` times the fraction of them in the context. Facts of one `topic` are redundant: only
 * the strongest one present counts.
 */
export interface Fact {
  readonly patches: readonly number[];
  readonly topic: string;
  readonly strength: number;
}

/**
 * A model built so that known image regions lower the next-token entropy by known amounts: the
 * toy model of `@icot/core/test` (real forks, batched side runs, attention) whose logits become
 * `beta * profile`: one fixed decreasing profile, laid on the tokens in the order of the toy's own
 * logits (so the text still depends on the whole context), scaled by `beta = 1 + evidence`, where
 * evidence sums, over topics, the strongest fact inserted so far (patches fed as an insertion
 * block, i.e. an image segment listing its patches). The entropy of softmax(beta * z) falls as
 * beta grows (dH/dbeta = -beta Var(z) <= 0) and does not depend on the order, so the entropy is a
 * known decreasing function of the evidence alone. Attention stays the toy's: unrelated to the facts.
 */
export function createFocusModel(facts: readonly Fact[], settings: ToyModelSettings = {}): VisionLanguageModelV2 {
  const inner = createToyModel(settings);
  const evidence = (inserted: ReadonlySet<number>): number => {
    const best = new Map<string, number>();
    for (const fact of facts) {
      const present = fact.patches.filter((p) => inserted.has(p)).length / fact.patches.length;
      best.set(fact.topic, Math.max(best.get(fact.topic) ?? 0, fact.strength * present));
    }
    let total = 0;
    for (const value of best.values()) total += value;
    return total;
  };
  const after = (inserted: ReadonlySet<number>, input: StepInput): Set<number> => {
    const next = new Set(inserted);
    for (const segment of input.segments) if (segment.type === 'image' && segment.patches) for (const p of segment.patches) next.add(p);
    return next;
  };
  const sharpen = (out: StepOutput, inserted: ReadonlySet<number>): StepOutput => {
    // the toy's logits only decide which token gets which value of one fixed profile, so the
    // entropy depends on the evidence alone (a permutation does not change it)
    const beta = 1 + evidence(inserted);
    const vocab = out.logits.length;
    const order = Array.from({ length: vocab }, (_, v) => v).sort((a, b) => out.logits[b]! - out.logits[a]! || a - b);
    const logits = new Float32Array(vocab);
    order.forEach((v, rank) => (logits[v] = beta * 4 * (1 - rank / vocab)));
    return { ...out, logits };
  };
  const wrap = (session: DecodingSessionV2, inserted: Set<number>): DecodingSessionV2 => ({
    get length() {
      return session.length;
    },
    async step(input) {
      const out = await session.step(input);
      inserted = after(inserted, input);
      return sharpen(out, inserted);
    },
    ...(session.fork ? { fork: () => wrap(session.fork!(), new Set(inserted)) } : {}),
    ...(session.sideRuns
      ? {
          sideRuns: async (inputs: readonly StepInput[]) => {
            const outs = await session.sideRuns!(inputs);
            return outs.map((out, i) => sharpen(out, after(inserted, inputs[i]!)));
          },
        }
      : {}),
    dispose: () => session.dispose(),
  });
  return {
    ...inner,
    modelId: 'focus-toy',
    capabilities: { ...inner.capabilities, kvCache: false },
    createSession: () => wrap(inner.createSession(), new Set()),
  };
}
