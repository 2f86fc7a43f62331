import { describe, expect, it } from 'vitest';
import { createRandom } from '@icot/core';
import { nextTokenEntropy } from './entropy.js';

/** Entropy the textbook way, for comparison. */
function direct(logits: readonly number[]): number {
  const z = logits.map((x) => Math.exp(x));
  const total = z.reduce((a, b) => a + b, 0);
  return -z.reduce((h, e) => (e === 0 ? h : h + (e / total) * Math.log(e / total)), 0);
}

describe('nextTokenEntropy', () => {
  it('is log V for equal logits and near 0 for one dominant logit', () => {
    expect(nextTokenEntropy(new Float32Array(1000))).toBeCloseTo(Math.log(1000), 12);
    const peaked = new Float32Array(50).fill(-40);
    peaked[7] = 40;
    expect(nextTokenEntropy(peaked)).toBeLessThan(1e-30);
    expect(nextTokenEntropy([0, Math.log(3)])).toBeCloseTo(-(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)), 12);
  });

  it('matches the textbook formula on random logits and ignores a shift of every logit', () => {
    const random = createRandom(2);
    for (let trial = 0; trial < 20; trial++) {
      const logits = Array.from({ length: 1 + random.int(300) }, () => 10 * random.next() - 5);
      expect(nextTokenEntropy(logits)).toBeCloseTo(direct(logits), 10);
      expect(nextTokenEntropy(logits.map((x) => x + 1000))).toBeCloseTo(direct(logits), 9);
    }
  });

  it('handles -Infinity logits (masked tokens) and says NaN for NaN or all masked', () => {
    expect(nextTokenEntropy([0, 0, -Infinity])).toBeCloseTo(Math.log(2), 12);
    expect(nextTokenEntropy([0, Number.NaN])).toBeNaN();
    expect(nextTokenEntropy([-Infinity, -Infinity])).toBeNaN();
  });

  it('runs over a real vocabulary (151,936) without a spread', () => {
    const logits = new Float32Array(151_936).map((_, i) => Math.sin(i));
    expect(Number.isFinite(nextTokenEntropy(logits))).toBe(true);
  });
});
