import { describe, expect, it } from 'vitest';
import { createRandom } from './random.js';
import { OptionError } from './errors.js';
import { TokenSampler } from './sampling.js';

describe('createRandom', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const c = createRandom(43);
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(seqA);
    for (const v of seqA) expect(v >= 0 && v < 1).toBe(true);
  });

  it('draws integers uniformly enough', () => {
    const r = createRandom(1);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[r.int(4)] += 1;
    for (const c of counts) expect(c).toBeGreaterThan(900);
  });
});

describe('TokenSampler', () => {
  const logits = Float32Array.from([0.1, 2.5, 2.4, -1, 0]);

  it('greedy picks the largest logit, lowest index on ties', () => {
    expect(new TokenSampler(5).sample(logits, createRandom(0))).toBe(1);
    expect(new TokenSampler(3).sample(Float32Array.from([1, 3, 3]), createRandom(0))).toBe(1);
  });

  it('never picks suppressed tokens', () => {
    expect(new TokenSampler(5, {}, [1]).sample(logits, createRandom(0))).toBe(2);
    const sampler = new TokenSampler(5, { temperature: 5 }, [1, 2]);
    const r = createRandom(3);
    for (let i = 0; i < 200; i++) expect([1, 2]).not.toContain(sampler.sample(logits, r));
  });

  it('applies the repetition penalty like transformers (divide positive, multiply negative)', () => {
    const sampler = new TokenSampler(5, { repetitionPenalty: 2 });
    sampler.observe([1]);
    expect(sampler.sample(logits, createRandom(0))).toBe(2); // 2.5 / 2 < 2.4
    const negative = new TokenSampler(3, { repetitionPenalty: 3 });
    negative.observe([0]);
    expect(negative.sample(Float32Array.from([-0.1, -0.2, -0.25]), createRandom(0))).toBe(1); // -0.3 < -0.2
  });

  it('sampling is reproducible for a seed and follows the distribution', () => {
    const sampler = new TokenSampler(5, { temperature: 1 });
    const draw = (seed: number) => {
      const r = createRandom(seed);
      return Array.from({ length: 50 }, () => sampler.sample(logits, r));
    };
    expect(draw(9)).toEqual(draw(9));
    const counts = new Array(5).fill(0);
    const r = createRandom(1);
    for (let i = 0; i < 5000; i++) counts[sampler.sample(logits, r)] += 1;
    const z = Array.from(logits).reduce((s, v) => s + Math.exp(v), 0);
    counts.forEach((c, i) => expect(c / 5000).toBeCloseTo(Math.exp(logits[i]!) / z, 1));
  });

  it('top-p keeps the smallest nucleus and top-k the k best', () => {
    const r = createRandom(2);
    const nucleus = new TokenSampler(5, { temperature: 1, topP: 0.5 });
    for (let i = 0; i < 100; i++) expect([1, 2]).toContain(nucleus.sample(logits, r));
    const top1 = new TokenSampler(5, { temperature: 10, topK: 1 });
    for (let i = 0; i < 20; i++) expect(top1.sample(logits, r)).toBe(1);
  });

  it('rejects invalid settings with OptionError', () => {
    expect(() => new TokenSampler(5, { temperature: -1 })).toThrow(OptionError);
    expect(() => new TokenSampler(5, { topP: 0 })).toThrow(OptionError);
    expect(() => new TokenSampler(5, { topK: 1.5 })).toThrow(OptionError);
    expect(() => new TokenSampler(5, { repetitionPenalty: 0 })).toThrow(OptionError);
  });
});
