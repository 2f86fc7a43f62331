/**
 * ROUGE-L as pycocoevalcap's `Rouge` computes it (salaniz/pycocoevalcap 1.2, `rouge/rouge.py`,
 * the version ICoT's requirements pin), and numpy's mean as `Rouge.compute_score` takes it.
 * @module
 */
import { EvalDataError } from './errors.js';

/** `Rouge.beta`: recall weighs 1.2 times precision. */
export const ROUGE_BETA = 1.2;
const BETA_SQUARED = ROUGE_BETA ** 2; // self.beta**2 (1.44)

/**
 * Length of the longest common subsequence of two token lists (`my_lcs`), in O(n m) time and
 * O(min(n, m)) memory.
 */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  let previous = new Uint32Array(short.length + 1);
  let current = new Uint32Array(short.length + 1);
  for (let i = 1; i <= long.length; i++) {
    const token = long[i - 1];
    for (let j = 1; j <= short.length; j++)
      current[j] = token === short[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    [previous, current] = [current, previous];
  }
  return previous[short.length]!;
}

/**
 * ROUGE-L F-score of `candidate` against `references` (`Rouge.calc_score`): both are split on single
 * spaces (`str.split(" ")`, so runs of spaces give empty tokens and tabs or newlines stay inside
 * tokens; no lower-casing or tokenization), LCS precision (over the candidate's tokens) and recall
 * (over the reference's) are each maxed over the references, and
 * `F = (1 + beta^2) P R / (R + beta^2 P)` with `beta = 1.2`; 0 when P or R is 0.
 */
export function rougeL(candidate: string, references: readonly string[]): number {
  if (references.length === 0) throw new EvalDataError('ROUGE-L needs at least one reference.', { hint: 'Pass the reference answer(s) of the question.' });
  const tokens = candidate.split(' ');
  let precision = 0;
  let recall = 0;
  for (const reference of references) {
    const referenceTokens = reference.split(' ');
    const lcs = lcsLength(referenceTokens, tokens);
    precision = Math.max(precision, lcs / tokens.length);
    recall = Math.max(recall, lcs / referenceTokens.length);
  }
  if (precision === 0 || recall === 0) return 0;
  return ((1 + BETA_SQUARED) * precision * recall) / (recall + BETA_SQUARED * precision);
}

// numpy's pairwise summation of float64 (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum):
// below 8 values a plain loop; up to 128 eight running sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))
// plus the rest in order; above, the halves (cut at a multiple of 8) summed recursively.
function pairwiseSum(values: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i]!;
    return sum;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => values[start + k]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k]! += values[start + i + k]!;
    let sum = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) sum += values[start + i]!;
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}

/**
 * `np.mean` of a float64 list, bit for bit: numpy's add-reduction (the pairwise sum of all values,
 * added to the identity) divided by the count (checked against numpy 1.24 on random lists of 1 to
 * 2,318 values). `NaN` for an empty list, as numpy gives.
 */
export function numpyMean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return pairwiseSum(values, 0, values.length) / values.length;
}
