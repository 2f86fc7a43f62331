import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { Random } from '@icot/core';
import { fromHalf, toHalf } from '@icot/onnx-proto';

/**
 * Weight variants of generated models, named as transformers.js names them (`dtype`):
 * - `fp32`: float32 weights and activations;
 * - `fp16`: float16 weights, activations, KV cache and logits (as onnx-community `_fp16` exports);
 * - `q4`: MatMul weights as com.microsoft MatMulNBits (4 bits, blocks of 32 along K, a float
 *   scale and a 4-bit zero point per block), float32 activations;
 * - `q4f16`: the same 4-bit weights with float16 activations, scales and KV cache.
 */
export type WeightDtype = 'fp32' | 'fp16' | 'q4' | 'q4f16';

/** Every {@link WeightDtype}. */
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['fp32', 'fp16', 'q4', 'q4f16'];

/** File-name suffix of a weight variant in the onnx-community layout (`decoder_model_merged_q4.onnx`). */
export const WEIGHT_DTYPE_SUFFIX: Readonly<Record<WeightDtype, string>> = { fp32: '', fp16: '_fp16', q4: '_q4', q4f16: '_q4f16' };

/** Whether activations of a weight variant are float16. */
export function halfActivations(dtype: WeightDtype): boolean {
  return dtype === 'fp16' || dtype === 'q4f16';
}

/** Whether MatMul weights of a weight variant are 4-bit MatMulNBits blocks. */
export function quantizedWeights(dtype: WeightDtype): boolean {
  return dtype === 'q4' || dtype === 'q4f16';
}

/**
 * normal(0, std) samples drawn in any number of pieces: the same sequence as one call of
 * `normal(random, n, std)` (Box-Muller pairs, cos then sin), so weights can be generated a block
 * of rows at a time without holding a whole matrix.
 */
export class NormalStream {
  private spare: number | undefined;
  constructor(
    private readonly random: Random,
    private readonly std: number,
  ) {}

  /** Fill `out` with the next samples. */
  fill(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) {
      if (this.spare !== undefined) {
        out[i] = this.spare;
        this.spare = undefined;
        continue;
      }
      const u = Math.max(this.random.next(), 1e-12);
      const v = this.random.next();
      const r = Math.sqrt(-2 * Math.log(u)) * this.std;
      out[i] = r * Math.cos(2 * Math.PI * v);
      this.spare = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }
}

/** Block size of generated MatMulNBits weights (what onnx-community q4 exports use). */
export const Q4_BLOCK_SIZE = 32;

/** A [K, N] MatMul weight as com.microsoft MatMulNBits inputs (bits 4). */
export interface Q4Weight {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  /** `B`: uint8 [N, kBlocks, blockSize / 2]; code of k = 2j in the low nibble of byte j, 2j + 1 in the high one. */
  readonly packed: Uint8Array;
  /** `scales`: [N, kBlocks] (float32 values; rounded to float16 first when `halfScales`). */
  readonly scales: Float32Array;
  /** `zero_points`: uint8 [N, ceil(kBlocks / 2)], block 2i in the low nibble of byte i. */
  readonly zeroPoints: Uint8Array;
}

/**
 * Quantizes a [K, N] row-major weight, delivered a block of rows at a time, into MatMulNBits
 * blocks: per output column and block of `blockSize` values along K, asymmetric 4-bit codes with
 * scale = (max - min) / 15 over a range that includes 0 and zero point round(-min / scale), the
 * dequantized value being (code - zero point) x scale (onnxruntime MatMulNBits contrib op).
 * Missing rows of a last partial block count as zeros.
 */
export class Q4Quantizer {
  readonly kBlocks: number;
  private readonly packed: Uint8Array;
  private readonly scales: Float32Array;
  private readonly zeroPoints: Uint8Array;
  private readonly column: Float32Array;
  private block = 0;

  constructor(
    readonly k: number,
    readonly n: number,
    private readonly halfScales: boolean,
    readonly blockSize = Q4_BLOCK_SIZE,
  ) {
    this.kBlocks = Math.ceil(k / blockSize);
    this.packed = new Uint8Array(n * this.kBlocks * (blockSize / 2));
    this.scales = new Float32Array(n * this.kBlocks);
    this.zeroPoints = new Uint8Array(n * Math.ceil(this.kBlocks / 2));
    this.column = new Float32Array(blockSize);
  }

  /** Rows of the next block along K (`rows.length` = N x rows in the block, row-major). */
  addBlock(rows: Float32Array): void {
    const { n, blockSize, kBlocks } = this;
    const count = rows.length / n;
    if (!Number.isInteger(count) || count > blockSize || this.block >= kBlocks) throw new Error('Q4Quantizer: wrong block');
    const kb = this.block++;
    const blob = blockSize / 2;
    const column = this.column;
    for (let col = 0; col < n; col++) {
      let min = 0;
      let max = 0;
      for (let r = 0; r < blockSize; r++) {
        const v = r < count ? rows[r * n + col]! : 0;
        column[r] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      let scale = (max - min) / 15;
      if (this.halfScales) scale = halfValue(scale);
      const zp = scale === 0 ? 8 : Math.min(15, Math.max(0, Math.round(-min / scale)));
      const inverse = scale === 0 ? 0 : 1 / scale;
      this.scales[col * kBlocks + kb] = scale;
      const zpByte = col * Math.ceil(kBlocks / 2) + (kb >> 1);
      this.zeroPoints[zpByte]! |= kb & 1 ? zp << 4 : zp;
      const base = (col * kBlocks + kb) * blob;
      for (let j = 0; j < blob; j++) {
        const lo = Math.min(15, Math.max(0, Math.round(column[2 * j]! * inverse) + zp));
        const hi = Math.min(15, Math.max(0, Math.round(column[2 * j + 1]! * inverse) + zp));
        this.packed[base + j] = lo | (hi << 4);
      }
    }
  }

  /** The quantized weight (after every block was added). */
  finish(): Q4Weight {
    if (this.block !== this.kBlocks) throw new Error(`Q4Quantizer: ${this.block} of ${this.kBlocks} blocks added`);
    return { k: this.k, n: this.n, blockSize: this.blockSize, packed: this.packed, scales: this.scales, zeroPoints: this.zeroPoints };
  }
}

/** The float32 value nearest to `value` that float16 can hold. */
function halfValue(value: number): number {
  return fromHalf(toHalf(value));
}

/** The [K, N] row-major float weight a {@link Q4Weight} stands for ((code - zero point) x scale). */
export function dequantizeQ4(w: Q4Weight): Float32Array {
  const out = new Float32Array(w.k * w.n);
  const kBlocks = Math.ceil(w.k / w.blockSize);
  const blob = w.blockSize / 2;
  for (let col = 0; col < w.n; col++)
    for (let kb = 0; kb < kBlocks; kb++) {
      const scale = w.scales[col * kBlocks + kb]!;
      const zpByte = w.zeroPoints[col * Math.ceil(kBlocks / 2) + (kb >> 1)]!;
      const zp = kb & 1 ? zpByte >> 4 : zpByte & 15;
      for (let j = 0; j < blob; j++) {
        const byte = w.packed[(col * kBlocks + kb) * blob + j]!;
        for (const [offset, code] of [[0, byte & 15], [1, byte >> 4]] as const) {
          const row = kb * w.blockSize + 2 * j + offset;
          if (row < w.k) out[row * w.n + col] = (code - zp) * scale;
        }
      }
    }
  return out;
}

/** Receives the bytes of large initializers, so a model's weights never sit in memory whole. */
export interface ExternalDataSink {
  /** The data file's name as the model records it (relative to the .onnx file). */
  readonly location: string;
  /** Append `length` bytes that `produce` hands over in chunks; returns their offset in the file. */
  write(length: number, produce: (put: (chunk: Uint8Array) => void) => void): number;
}

/**
 * An external data file written as weights are generated (synchronous appends), each tensor
 * starting at a multiple of 4096 bytes so runtimes can map it.
 */
export class ExternalDataFile implements ExternalDataSink {
  readonly location: string;
  private readonly fd: number;
  private position = 0;

  constructor(readonly path: string) {
    this.location = basename(path);
    this.fd = openSync(path, 'w');
  }

  write(length: number, produce: (put: (chunk: Uint8Array) => void) => void): number {
    const pad = (4096 - (this.position % 4096)) % 4096;
    if (pad) this.position += writeSync(this.fd, new Uint8Array(pad), 0, pad, this.position);
    const offset = this.position;
    produce((chunk) => {
      let done = 0;
      while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done, this.position + done);
      this.position += chunk.length;
    });
    if (this.position - offset !== length) throw new Error(`ExternalDataFile: expected ${length} bytes, got ${this.position - offset}`);
    return offset;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.position;
  }

  close(): void {
    closeSync(this.fd);
  }
}
