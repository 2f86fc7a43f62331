import type { InputSegment, PositionIds } from './spec/model.js';

/** Positions `start .. start + count - 1`, the same on every one of `axes` axes (text tokens). */
export function sequentialPositions(axes: number, start: number, count: number): PositionIds {
  const data = new Int32Array(axes * count);
  for (let a = 0; a < axes; a++) for (let i = 0; i < count; i++) data[a * count + i] = start + i;
  return { axes, length: count, data };
}

/** Concatenate position runs with the same number of axes. */
export function concatPositions(parts: readonly PositionIds[]): PositionIds {
  const axes = parts[0]?.axes ?? 1;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Int32Array(axes * length);
  let offset = 0;
  for (const p of parts) {
    if (p.axes !== axes) throw new Error(`concatPositions: mixed axis counts ${axes} and ${p.axes}`);
    for (let a = 0; a < axes; a++) data.set(p.data.subarray(a * p.length, (a + 1) * p.length), a * length + offset);
    offset += p.length;
  }
  return { axes, length, data };
}

/** Largest position id in `positions` (-1 when empty). */
export function maxPosition(positions: PositionIds): number {
  let max = -1;
  for (const v of positions.data) if (v > max) max = v;
  return max;
}

/** Number of inputs (tokens and image patches) in a list of segments. */
export function segmentLength(segments: readonly InputSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.type === 'tokens' ? s.ids.length : (s.patches?.length ?? s.image.patchCount);
  return n;
}

/** Positions of inputs `[start, end)` of a run. */
export function slicePositions(positions: PositionIds, start: number, end: number): PositionIds {
  const length = end - start;
  const data = new Int32Array(positions.axes * length);
  for (let a = 0; a < positions.axes; a++) data.set(positions.data.subarray(a * positions.length + start, a * positions.length + end), a * length);
  return { axes: positions.axes, length, data };
}
