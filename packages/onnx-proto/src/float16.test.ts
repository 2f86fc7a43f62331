import { describe, expect, it } from 'vitest';
import { float16ToFloat32, float32ToFloat16, fromHalf, halfTable, toHalf } from './float16.js';

describe('float16', () => {
  it('the lookup table holds the value of every bit pattern', () => {
    const table = halfTable();
    expect(table.length).toBe(65536);
    for (let bits = 0; bits < 65536; bits++) {
      const v = fromHalf(bits);
      if (Number.isNaN(v)) expect(Number.isNaN(table[bits])).toBe(true);
      else expect(table[bits]).toBe(v);
    }
    expect(float16ToFloat32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0xfc00]))).toEqual(Float32Array.from([1, -2, 65504, 2 ** -24, -Infinity]));
  });

  it('rounds float32 to the nearest half, ties to even, and round-trips every finite half', () => {
    for (let bits = 0; bits < 65536; bits++) {
      const v = fromHalf(bits);
      if (Number.isFinite(v)) expect(toHalf(v) === bits || (v === 0 && (toHalf(v) & 0x7fff) === 0)).toBe(true);
    }
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie: to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toHalf(65520)).toBe(0x7c00); // overflows to infinity
    expect(toHalf(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: to even
    expect(Array.from(float32ToFloat16(Float32Array.from([0.1, -0.5])))).toEqual([toHalf(0.1), 0xb800]);
  });
});
