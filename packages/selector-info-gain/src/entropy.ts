/**
 * Shannon entropy, in nats, of the next-token distribution `softmax(logits)` (the model's own
 * distribution: no temperature, no penalties). One pass for the maximum and one for the sums,
 * accumulated in float64: O(V), no sort, no spread. `H = log Z - sum(p * z)` with `z = logits - max`.
 * Returns NaN when a logit is NaN or every logit is -Infinity.
 */
export function nextTokenEntropy(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let v = 0; v < logits.length; v++) {
    const x = logits[v]!;
    if (Number.isNaN(x)) return Number.NaN;
    if (x > max) max = x;
  }
  if (max === -Infinity || max === Infinity) return Number.NaN;
  let sum = 0;
  let weighted = 0;
  for (let v = 0; v < logits.length; v++) {
    const z = logits[v]! - max;
    if (z === -Infinity) continue;
    const e = Math.exp(z);
    sum += e;
    weighted += e * z;
  }
  return Math.log(sum) - weighted / sum;
}
