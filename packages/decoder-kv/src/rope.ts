import type { PositionIds, RopeDescriptionV1 } from '@icot/core';

/** Position axis that drives each rotary frequency (M-RoPE sections; all 0 for 1-D RoPE). */
function frequencyAxes(rope: RopeDescriptionV1): Int32Array {
  const half = rope.rotaryDim / 2;
  const axes = new Int32Array(half);
  if (rope.mropeSection) {
    let j = 0;
    rope.mropeSection.forEach((count, axis) => {
      for (let c = 0; c < count && j < half; c++) axes[j++] = axis;
    });
  }
  return axes;
}

/**
 * Re-rotate cached keys from the positions they were computed at to new positions. Rotations
 * compose, R(new) = R(new - old) R(old), so each (x[j], x[j + rotaryDim/2]) pair turns by
 * (new - old) times its frequency, taking the position from the frequency's M-RoPE axis. Angles
 * are formed in float32 as the decoder graphs form them, so a re-bound key matches the key the
 * model computes at the new position to float rounding.
 *
 * `keys` is head-major: `keys[(head * count + i) * headDim + d]` for `count` entries.
 */
export function rebindKeys(keys: Float32Array, heads: number, count: number, rope: RopeDescriptionV1, from: PositionIds, to: PositionIds): void {
  const { headDim, rotaryDim } = rope;
  const half = rotaryDim / 2;
  const axes = frequencyAxes(rope);
  const invFreq = Float64Array.from({ length: half }, (_, j) => Math.fround(1 / rope.theta ** ((2 * j) / rotaryDim)));
  const cos = new Float64Array(count * half);
  const sin = new Float64Array(count * half);
  for (let i = 0; i < count; i++)
    for (let j = 0; j < half; j++) {
      const axis = Math.min(axes[j]!, from.axes - 1);
      const before = Math.fround(from.data[axis * from.length + i]! * invFreq[j]!);
      const after = Math.fround(to.data[Math.min(axes[j]!, to.axes - 1) * to.length + i]! * invFreq[j]!);
      const delta = after - before;
      cos[i * half + j] = Math.cos(delta);
      sin[i * half + j] = Math.sin(delta);
    }
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < count; i++) {
      const base = (h * count + i) * headDim;
      for (let j = 0; j < half; j++) {
        const c = cos[i * half + j]!;
        const s = sin[i * half + j]!;
        const x1 = keys[base + j]!;
        const x2 = keys[base + j + half]!;
        keys[base + j] = x1 * c - x2 * s;
        keys[base + j + half] = x2 * c + x1 * s;
      }
    }
}
