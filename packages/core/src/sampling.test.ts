import { describe, expect, it } from 'vitest';
import { createRandom, type Random } from './random.js';
import { IcotError, ModelConfigError, OptionError } from './errors.js';
import { TokenSampler, type SamplingOptions } from './sampling.js';

/** Vocabulary of Qwen2-VL (its config's `vocab_size`). */
const QWEN2_VL_VOCAB = 151_936;

/**
 * The sampler before issue 9, kept as the reference: sort every usable token by logit (stable,
 * so ties keep the lower id first), keep the top k, softmax with float32 weights, keep the
 * shortest prefix whose cumulative probability reaches topP, draw along the sorted order.
 */
class ReferenceSampler {
  private readonly suppressed: Uint8Array;
  private readonly scratch: Float32Array;
  private readonly order: Int32Array;
  private readonly penalised = new Set<number>();

  constructor(
    vocabSize: number,
    private readonly options: SamplingOptions = {},
    suppressedTokenIds: readonly number[] = [],
  ) {
    this.suppressed = new Uint8Array(vocabSize);
    for (const id of suppressedTokenIds) if (id >= 0 && id < vocabSize) this.suppressed[id] = 1;
    this.scratch = new Float32Array(vocabSize);
    this.order = new Int32Array(vocabSize);
  }

  observe(tokens: Iterable<number>): void {
    if ((this.options.repetitionPenalty ?? 1) === 1) return;
    for (const t of tokens) this.penalised.add(t);
  }

  /** The sorted kept tokens and their float32 weights (the old algorithm up to the draw). */
  private keep(logits: Float32Array): { view: Int32Array; keep: number; work: Float32Array; total: number } {
    const vocab = this.scratch.length;
    const penalty = this.options.repetitionPenalty ?? 1;
    const work = this.scratch;
    work.set(logits.subarray(0, vocab));
    if (penalty !== 1)
      for (const t of this.penalised) {
        const v = work[t]!;
        work[t] = v > 0 ? v / penalty : v * penalty;
      }
    const temperature = this.options.temperature!;
    let count = 0;
    for (let i = 0; i < vocab; i++) if (this.suppressed[i] === 0 && work[i]! > -Infinity) this.order[count++] = i;
    const view = this.order.subarray(0, count);
    view.sort((x, y) => work[y]! - work[x]!);
    let keep = count;
    const topK = this.options.topK ?? 0;
    if (topK > 0 && topK < keep) keep = topK;
    const max = work[view[0]!]!;
    let total = 0;
    for (let i = 0; i < keep; i++) {
      const p = Math.exp((work[view[i]!]! - max) / temperature);
      work[view[i]!] = p;
      total += p;
    }
    const topP = this.options.topP ?? 1;
    if (topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < keep; i++) {
        cumulative += work[view[i]!]! / total;
        if (cumulative >= topP) {
          keep = i + 1;
          break;
        }
      }
      total = 0;
      for (let i = 0; i < keep; i++) total += work[view[i]!]!;
    }
    return { view, keep, work, total };
  }

  sample(logits: Float32Array, random: Random): number {
    const { view, keep, work, total } = this.keep(logits);
    let r = random.next() * total;
    for (let i = 0; i < keep; i++) {
      r -= work[view[i]!]!;
      if (r < 0) return view[i]!;
    }
    return view[keep - 1]!;
  }

  distribution(logits: Float32Array): Float64Array {
    const { view, keep, work } = this.keep(logits);
    const p = new Float64Array(this.scratch.length);
    let total = 0;
    for (let i = 0; i < keep; i++) total += work[view[i]!]!;
    for (let i = 0; i < keep; i++) p[view[i]!] = work[view[i]!]! / total;
    return p;
  }
}

/** Standard normal numbers from a seed (Box-Muller). */
function gaussians(n: number, seed: number, scale = 1): Float32Array {
  const r = createRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
  return out;
}

/** Logits shaped like a language model's: a long low tail and a few strong candidates. */
function peaked(n: number, seed: number): Float32Array {
  const x = gaussians(n, seed, 2);
  for (let i = 0; i < 24; i++) x[(i * 7919 + seed) % n] = 14 - i * 0.45;
  return x;
}

/** The largest |a - b| relative to b (absolute below 1e-12), and whether both have the same support. */
function compare(a: Float64Array, b: Float64Array): { support: boolean; error: number; firstDifference: number } {
  let error = 0;
  let firstDifference = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! > 0 !== b[i]! > 0 && firstDifference < 0) firstDifference = i;
    error = Math.max(error, Math.abs(a[i]! - b[i]!) / Math.max(b[i]!, 1e-6));
  }
  return { support: firstDifference < 0, error, firstDifference };
}

/** Upper 0.1% point of the chi-square distribution (Wilson-Hilferty). */
function chiSquareCritical(df: number): number {
  const z = 3.0902; // standard normal quantile at 0.999
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}

/**
 * Pearson's chi-square statistic of `counts` against `probabilities` (cells expecting fewer than 5
 * draws are pooled into one), with its degrees of freedom. Tokens drawn with probability 0 make it
 * infinite.
 */
function chiSquare(counts: Map<number, number>, probabilities: Float64Array, draws: number): { statistic: number; df: number } {
  let statistic = 0;
  let cells = 0;
  let pooledExpected = 0;
  let pooledObserved = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const expected = probabilities[i]! * draws;
    const observed = counts.get(i) ?? 0;
    if (expected === 0) {
      if (observed > 0) return { statistic: Infinity, df: 1 };
      continue;
    }
    if (expected < 5) {
      pooledExpected += expected;
      pooledObserved += observed;
      continue;
    }
    statistic += (observed - expected) ** 2 / expected;
    cells++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    cells++;
  }
  return { statistic, df: Math.max(1, cells - 1) };
}

/**
 * A "random" source that returns the midpoints of `points` equal strata of [0, 1) in turn: a
 * sampler that draws by inverse CDF then lands in each token's interval floor(p * points) or
 * ceil(p * points) times, a check of every token's probability without statistical slack.
 */
function stratified(points: number): Random {
  let j = 0;
  const next = () => (j++ % points + 0.5) / points;
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/** The token whose stratified count is furthest from p * points (beyond 1 means the draws are off). */
function worstStratifiedCount(sample: (r: Random) => number, probabilities: Float64Array, points: number): { token: number; count: number; expected: number } {
  const counts = drawCounts(sample, points, stratified(points));
  let worst = { token: -1, count: 0, expected: 0 };
  let worstGap = 0;
  for (const id of new Set([...counts.keys(), ...Array.from(probabilities.keys()).filter((i) => probabilities[i]! > 0)])) {
    const expected = probabilities[id]! * points;
    const count = counts.get(id) ?? 0;
    const gap = Math.abs(count - expected);
    if (gap > worstGap) {
      worstGap = gap;
      worst = { token: id, count, expected };
    }
  }
  return worst;
}

function drawCounts(sample: (r: Random) => number, draws: number, seed: number | Random): Map<number, number> {
  const random = typeof seed === 'number' ? createRandom(seed) : seed;
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const t = sample(random);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return counts;
}

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
    expect(() => new TokenSampler(0)).toThrow(OptionError);
  });
});

describe('TokenSampler against the sort-based reference', () => {
  const configs: [string, SamplingOptions][] = [
    ['temperature 1', { temperature: 1 }],
    ['temperature 0.7', { temperature: 0.7 }],
    ['top-k 1', { temperature: 0.7, topK: 1 }],
    ['top-k 7', { temperature: 1.3, topK: 7 }],
    ['top-k 50', { temperature: 0.7, topK: 50 }],
    ['top-p 0.9', { temperature: 0.7, topP: 0.9 }],
    ['top-p 0.37', { temperature: 1.3, topP: 0.37 }],
    ['top-p 0.999', { temperature: 2, topP: 0.999 }],
    ['top-k 50 + top-p 0.9', { temperature: 0.7, topK: 50, topP: 0.9 }],
    ['top-k 3000 + top-p 0.83', { temperature: 1, topK: 3000, topP: 0.83 }],
    ['top-p 1 (off)', { temperature: 0.7, topP: 1 }],
    ['top-k larger than the vocabulary', { temperature: 0.7, topK: 1_000_000 }],
    ['repetition penalty + top-p', { temperature: 0.8, topP: 0.9, repetitionPenalty: 1.3 }],
  ];
  const inputs: [string, (n: number) => Float32Array][] = [
    ['gaussian logits', (n) => gaussians(n, n + 1)],
    ['wide gaussian logits (std 3)', (n) => gaussians(n, n + 6, 3)],
    ['flat logits (std 0.05)', (n) => gaussians(n, n + 2, 0.05)],
    ['peaked logits', (n) => peaked(n, 3)],
    [
      'many ties, -Infinity and NaN',
      (n) => {
        const x = gaussians(n, n + 4);
        for (let i = 0; i < n; i++) x[i] = Math.round(x[i]! * 3) / 3;
        for (let i = 5; i < n; i += 11) x[i] = -Infinity;
        for (let i = 7; i < n; i += 13) x[i] = Number.NaN;
        return x;
      },
    ],
    [
      'a tight cluster far below one outlier (one bin holds almost everything)',
      (n) => {
        const x = gaussians(n, n + 5, 1e-3);
        x[n >> 1] = 80;
        x[3] = -200;
        return x;
      },
    ],
  ];
  const suppressed = [2, 9, 40];
  const observed = [0, 1, 3, 17, 33, 1000];

  for (const vocab of [60, 4000, QWEN2_VL_VOCAB])
    for (const [inputName, make] of inputs)
      it(`draws from the same distribution at V = ${vocab}, ${inputName}`, () => {
        const x = make(vocab);
        for (const [name, options] of configs) {
          const sampler = new TokenSampler(vocab, options, suppressed);
          const reference = new ReferenceSampler(vocab, options, suppressed);
          sampler.observe(observed);
          reference.observe(observed);
          const result = compare(sampler.distribution(x), reference.distribution(x));
          expect({ config: name, ...result, error: result.error < 1e-6 }).toEqual({ config: name, support: true, error: true, firstDifference: -1 });
        }
      });

  it('keeps the lowest ids among tied logits, at V = 151,936 with all logits equal', () => {
    const x = new Float32Array(QWEN2_VL_VOCAB);
    const topK = new TokenSampler(QWEN2_VL_VOCAB, { temperature: 0.7, topK: 50 }).distribution(x);
    expect(topK.findIndex((p) => p === 0)).toBe(50);
    expect(topK[0]).toBeCloseTo(1 / 50, 12);
    const topP = new TokenSampler(QWEN2_VL_VOCAB, { temperature: 0.7, topP: 0.3 }).distribution(x);
    expect(compare(topP, new ReferenceSampler(QWEN2_VL_VOCAB, { temperature: 0.7, topP: 0.3 }).distribution(x))).toEqual({ support: true, error: 0, firstDifference: -1 });
    expect(topP.findIndex((p) => p === 0)).toBe(Math.ceil(0.3 * QWEN2_VL_VOCAB));
  });

  it('orders a bin that defeats median-of-three pivots and still matches', () => {
    // every token but one in one or two bins (a far outlier caps the bins' span at 104 temperatures),
    // in "organ pipe" order: median-of-three partitions shrink the range by a few ids each, the
    // pivot budget runs out and selection falls back to sorting (O(n log n)); same kept tokens
    const n = 20_000;
    const m = n - 1;
    const x = new Float32Array(n);
    for (let i = 0; i < m; i++) x[i + 1] = 1e-6 * (i < m / 2 ? 2 * i : 2 * (m - 1 - i) + 1);
    x[0] = -500;
    for (const options of [
      { temperature: 0.7, topP: 0.5 },
      { temperature: 0.7, topK: 7000 },
      { temperature: 0.7, topK: 7000, topP: 0.3 },
    ]) {
      const result = compare(new TokenSampler(n, options).distribution(x), new ReferenceSampler(n, options).distribution(x));
      expect(result.support).toBe(true);
      expect(result.error).toBeLessThan(1e-6);
    }
  });
});

describe('TokenSampler draws (chi-square against the reference distribution, fixed seeds)', () => {
  const vocab = 40;
  const x = gaussians(vocab, 8, 1.5);
  for (const [name, options] of [
    ['temperature 1', { temperature: 1 }],
    ['top-k 6', { temperature: 0.8, topK: 6 }],
    ['top-p 0.8', { temperature: 0.9, topP: 0.8 }],
    ['top-k 12 + top-p 0.7 + repetition penalty', { temperature: 1.2, topK: 12, topP: 0.7, repetitionPenalty: 1.5 }],
  ] as [string, SamplingOptions][])
    it(name, () => {
      const sampler = new TokenSampler(vocab, options, [4]);
      const reference = new ReferenceSampler(vocab, options, [4]);
      sampler.observe([0, 1, 2, 3]);
      reference.observe([0, 1, 2, 3]);
      const expected = reference.distribution(x);
      const draws = 20_000;
      const ours = chiSquare(
        drawCounts((r) => sampler.sample(x, r), draws, 11),
        expected,
        draws,
      );
      expect(ours.statistic).toBeLessThan(chiSquareCritical(ours.df));
      // the old sampler passes the same test, and the test can fail: against the distribution
      // without the filters the draws are far off
      const old = chiSquare(
        drawCounts((r) => reference.sample(x, r), draws, 12),
        expected,
        draws,
      );
      expect(old.statistic).toBeLessThan(chiSquareCritical(old.df));
      const unfiltered = new ReferenceSampler(vocab, { temperature: options.temperature! * 1.25 }).distribution(x);
      const wrong = chiSquare(drawCounts((r) => sampler.sample(x, r), draws, 11), unfiltered, draws);
      expect(wrong.statistic).toBeGreaterThan(chiSquareCritical(wrong.df));
    });

  it('at V = 151,936 with top-p 0.9 and temperature 0.7', () => {
    // 30 strong candidates 0.1 apart over a long tail: a nucleus of about 15 tokens
    const x = gaussians(QWEN2_VL_VOCAB, 21, 2);
    for (let i = 0; i < 30; i++) x[(i * 4099) % QWEN2_VL_VOCAB] = 14 - 0.1 * i;
    const options = { temperature: 0.7, topP: 0.9 };
    const expected = new ReferenceSampler(QWEN2_VL_VOCAB, options).distribution(x);
    const sampler = new TokenSampler(QWEN2_VL_VOCAB, options);
    const draws = 1500;
    const result = chiSquare(
      drawCounts((r) => sampler.sample(x, r), draws, 5),
      expected,
      draws,
    );
    expect(result.df).toBeGreaterThan(8);
    expect(result.statistic).toBeLessThan(chiSquareCritical(result.df));
  });

});

describe('TokenSampler draws by inverse CDF (stratified draws: every token within one draw of p * draws)', () => {
  const cases: [string, number, Float32Array, SamplingOptions][] = [
    ['temperature only', 300, gaussians(300, 41, 1.5), { temperature: 0.9 }],
    ['top-k', 300, gaussians(300, 42, 1.5), { temperature: 0.9, topK: 40 }],
    ['top-k + top-p, cut below the k-th bin', 300, gaussians(300, 43, 1.5), { temperature: 0.9, topK: 200, topP: 0.6 }],
    ['top-p, few candidates', 5000, peaked(5000, 44), { temperature: 0.7, topP: 0.9 }],
    ['top-p, a flat distribution (a bin or two per token)', 4000, gaussians(4000, 45, 0.6), { temperature: 1, topP: 0.9 }],
    ['top-p, a flat distribution (one pass of weights and bins)', QWEN2_VL_VOCAB, gaussians(QWEN2_VL_VOCAB, 22, 0.6), { temperature: 1, topP: 0.9 }],
    ['top-p, thousands of nucleus candidates', QWEN2_VL_VOCAB, gaussians(QWEN2_VL_VOCAB, 23, 3), { temperature: 1, topP: 0.9 }],
  ];
  for (const [name, vocab, x, options] of cases)
    it(`${name} at V = ${vocab}`, () => {
      const expected = new ReferenceSampler(vocab, options).distribution(x);
      const sampler = new TokenSampler(vocab, options);
      const points = vocab > 10_000 ? 1500 : 20_000;
      const worst = worstStratifiedCount((r) => sampler.sample(x, r), expected, points);
      expect(Math.abs(worst.count - worst.expected), JSON.stringify(worst)).toBeLessThanOrEqual(1 + 1e-6);
    });
});

describe('TokenSampler edge cases', () => {
  it('is reproducible by seed at V = 151,936 (same seed, same tokens)', () => {
    const x = gaussians(QWEN2_VL_VOCAB, 31, 0.6);
    for (const options of [{ temperature: 0.7 }, { temperature: 0.7, topK: 50 }, { temperature: 0.7, topP: 0.9 }]) {
      const run = (seed: number) => {
        const sampler = new TokenSampler(QWEN2_VL_VOCAB, options);
        const random = createRandom(seed);
        return Array.from({ length: 20 }, () => sampler.sample(x, random));
      };
      expect(run(4)).toEqual(run(4));
      expect(run(4)).not.toEqual(run(5));
    }
  });

  it('ignores logits past the vocabulary and rejects fewer', () => {
    const x = Float32Array.from([0, 1, 2, 100, 100]);
    for (const options of [{}, { temperature: 1 }, { temperature: 1, topP: 0.5 }, { temperature: 1, topK: 2 }]) {
      const sampler = new TokenSampler(3, options);
      const random = createRandom(1);
      for (let i = 0; i < 50; i++) expect(sampler.sample(x, random)).toBeLessThan(3);
      expect(() => sampler.sample(x.subarray(0, 2), random)).toThrow(ModelConfigError);
    }
  });

  it('fails clearly when every token is -Infinity, NaN or suppressed', () => {
    const x = Float32Array.from([-Infinity, Number.NaN, 3]);
    for (const options of [{}, { temperature: 1 }, { temperature: 1, topP: 0.9 }]) {
      const error = (() => {
        try {
          new TokenSampler(3, options, [2]).sample(x, createRandom(0));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(IcotError);
      expect((error as IcotError).hint).toBeTruthy();
    }
  });

  it('gives +Infinity logits all the mass and a tiny temperature the argmax', () => {
    const x = Float32Array.from([1, Infinity, 5, Infinity]);
    const p = new TokenSampler(4, { temperature: 1, topP: 0.9 }).distribution(x);
    expect(Array.from(p)).toEqual([0, 0.5, 0, 0.5]);
    expect(Array.from(x)).toEqual([1, Infinity, 5, Infinity]); // the caller's logits are not written
    const y = Float32Array.from([1, 2, 3, 2.5]);
    expect(Array.from(new TokenSampler(4, { temperature: 1e-300 }).distribution(y))).toEqual([0, 0, 1, 0]);
    expect(Array.from(new TokenSampler(4, { temperature: 1e-320, topK: 2 }).distribution(y))).toEqual([0, 0, 1, 0]);
  });

  it('draws a flat distribution evenly under a huge temperature', () => {
    // every weight rounds to 1: the nucleus is the three largest logits (cumulative 0.25, 0.5, 0.75)
    const p = new TokenSampler(4, { temperature: 1e30, topP: 0.6 }).distribution(Float32Array.from([1, 2, 3, 4]));
    expect(Array.from(p)).toEqual([0, 1 / 3, 1 / 3, 1 / 3]);
  });
});
