import type { TriggerV2 } from '@icot/core';
import type { WeightDtype } from './models/weights.js';

/**
 * The numeric precision a conformance suite checks a model at: the weight variants of
 * {@link WeightDtype} (`fp32`; `fp16`: float16 weights, activations and cache; `q4`: 4-bit
 * MatMulNBits weights with float32 activations; `q4f16`: 4-bit weights with float16 activations).
 * It only sets tolerances ({@link CONFORMANCE_TOLERANCES}); checks that are exact in any precision
 * (two runs of the same computation) stay exact.
 */
export type ConformanceDtype = WeightDtype;

/** How far apart two results that are equal in exact arithmetic may be, at one {@link ConformanceDtype}. */
export interface ConformanceTolerance {
  /**
   * Logits computed two ways (cached decoding vs a one-piece recompute; kv-rebind vs input
   * insertion on a one-layer model): `|a - b| <= logits * max(1, |b|)` for every entry.
   */
  readonly logits: number;
  /** An attention row over the cache: `|sum - 1| <= attentionSum` (and no entry below 0). */
  readonly attentionSum: number;
  /** A tapped attention row vs softmax(QK^T / sqrt(d)) computed independently from the layer's own queries and keys: max `|a - b|`. */
  readonly attention: number;
}

/**
 * Tolerances per dtype. Float32 activations (`fp32`, `q4`: MatMulNBits dequantizes to float32,
 * the same way on every route) agree to float32 accumulation order. Float16 activations (`fp16`,
 * `q4f16`) hold 11 significant bits: logits near 1 differ by a few float16 steps of 2^-10 between
 * routes (and re-bound keys are rounded back to float16), attention sums by a few steps.
 */
export const CONFORMANCE_TOLERANCES: Readonly<Record<ConformanceDtype, ConformanceTolerance>> = {
  fp32: { logits: 1e-4, attentionSum: 1e-4, attention: 1e-5 },
  q4: { logits: 1e-4, attentionSum: 1e-4, attention: 1e-5 },
  fp16: { logits: 8 * 2 ** -10, attentionSum: 4 * 2 ** -10, attention: 5e-4 },
  q4f16: { logits: 8 * 2 ** -10, attentionSum: 4 * 2 ** -10, attention: 5e-4 },
};

/**
 * The tolerances of a dtype name as backends spell it: the {@link ConformanceDtype}s, and other
 * transformers.js names by their activations (`q4`'s for `int8`, `uint8`, `quantized`, `bnb4`).
 */
export function toleranceOf(dtype: string | undefined): ConformanceTolerance {
  if (dtype === undefined || dtype === 'auto') return CONFORMANCE_TOLERANCES.fp32;
  if (dtype in CONFORMANCE_TOLERANCES) return CONFORMANCE_TOLERANCES[dtype as ConformanceDtype];
  return dtype.includes('16') ? CONFORMANCE_TOLERANCES.fp16 : CONFORMANCE_TOLERANCES.q4;
}

/**
 * The first index `i < length` where `|a[i] - b[i]| > tolerance * max(1, |b[i]|)` (NaN counts as
 * a difference), with both values; undefined when there is none. One pass, no copies.
 */
export function firstLogitDifference(a: Float32Array, b: Float32Array, length: number, tolerance: number): { index: number; a: number; b: number } | undefined {
  for (let i = 0; i < length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!(Math.abs(x - y) <= tolerance * Math.max(1, Math.abs(y)))) return { index: i, a: x, b: y };
  }
  return undefined;
}

/** Index of the largest of the first `length` values (lowest index on ties); one pass. */
export function argmax(values: Float32Array, length = values.length): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** A trigger that fires on every `n`-th generated token, whatever it is (no vocabulary-size id list). */
export function everyNthTokenTrigger(n: number): TriggerV2 {
  return {
    specificationVersion: 'v2',
    name: `every-${n}-tokens`,
    start: () => ({ onToken: ({ step }) => (step + 1) % n === 0 }),
  };
}
