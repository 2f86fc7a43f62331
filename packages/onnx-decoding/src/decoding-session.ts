import {
  AttentionUnavailableError,
  IcotError,
  segmentLength,
  throwIfAborted,
  type DecodingSessionV1,
  type InputSegment,
  type KvCacheV1,
  type PositionIds,
  type StepInput,
  type StepOutput,
} from '@icot/core';
import type { Tensor } from 'onnxruntime-common';
import type { DecoderGraph } from './decoder.js';
import { fromHalf, toHalf } from './float16.js';
import { defaultTensorFactory, disposeTensor, emptyTensor, int64Tensor, OnesMask, readLastRow, type TensorFactory } from './tensors.js';

/** Turns a step's segments into the decoder's main input tensor (embeddings or token ids). */
export type SegmentEncoder = (segments: readonly InputSegment[], length: number) => Promise<Tensor>;

/**
 * One KV cache driven through a decoder graph. The cache tensors returned by a step are fed to
 * the next as they are (no copies); the attention mask is a view of a growing buffer of ones.
 * Only the last position's logits are read (float16 logits: only that row is converted), and
 * tensors a step supersedes (the previous cache, outputs not kept) are disposed.
 */
export class OnnxDecodingSession implements DecodingSessionV1 {
  private past: Record<string, Tensor> = {};
  private cacheLength = 0;
  private disposed = false;
  private readonly mask: OnesMask;
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];
  /** `num_logits_to_keep` / `logits_to_keep` = 1, for exports with that input. */
  private readonly logitsToKeep: Record<string, Tensor> = {};
  /** Outputs of a step that reads no attention (the tap outputs left out), for tapped decoders. */
  private readonly fetchesWithoutTaps: readonly string[] | undefined;

  constructor(
    private readonly decoder: DecoderGraph,
    private readonly encodeSegments: SegmentEncoder,
    private readonly modelId: string,
    /** Longest run fed to fused attention in one call (0 = no chunking). */
    private readonly prefillChunk = 512,
    private readonly tensors: TensorFactory = defaultTensorFactory,
  ) {
    this.mask = new OnesMask(tensors);
    for (let i = 0; i < decoder.layers; i++)
      for (const kind of ['key', 'value']) {
        const name = `past_key_values.${i}.${kind}`;
        this.pastNames.push(name);
        this.presentNames.push(`present.${i}.${kind}`);
        this.past[name] = emptyTensor(this.tensors, decoder.pastType, [1, decoder.kvHeads, 0, decoder.headDim]);
      }
    if (decoder.tapOutputs) this.fetchesWithoutTaps = ['logits', ...this.presentNames];
    const rows = decoder.logits;
    if (rows.rows === 'last' && rows.how === 'logits-to-keep-input') this.logitsToKeep[rows.input] = int64Tensor(tensors, [1], rows.inputRank === 0 ? [] : [1]);
  }

  get length(): number {
    return this.cacheLength;
  }

  /**
   * Cache access for KV-insertion decoders. The cache tensors use the decoder contract's
   * [batch, kv heads, positions, head dim] layout, so an append rebuilds each layer's tensor once
   * (one pass over the cache per insertion; the decoder's own Concat does the same every step).
   */
  get kvCache(): KvCacheV1 {
    return {
      layers: this.decoder.layers,
      kvHeads: this.decoder.kvHeads,
      headDim: this.decoder.headDim,
      appendCopies: (sources, transformKeys) => this.appendCopies(sources, transformKeys),
    };
  }

  private appendCopies(sources: readonly number[], transformKeys?: (layer: number, keys: Float32Array) => void): void {
    if (this.disposed) throw new IcotError('internal', 'This decoding session was disposed.');
    const { kvHeads, headDim } = this.decoder;
    const total = this.cacheLength;
    const n = sources.length;
    for (const s of sources) if (!Number.isInteger(s) || s < 0 || s >= total) throw new IcotError('internal', `Cache entry ${s} does not exist (the cache holds ${total}).`);
    const next: Record<string, Tensor> = {};
    for (let layer = 0; layer < this.decoder.layers; layer++)
      for (const kind of ['key', 'value'] as const) {
        const name = `past_key_values.${layer}.${kind}`;
        const tensor = this.past[name]!;
        const half = tensor.type === 'float16';
        const data = tensor.data as Float32Array | Uint16Array;
        const out = half ? new Uint16Array(kvHeads * (total + n) * headDim) : new Float32Array(kvHeads * (total + n) * headDim);
        const copied = new Float32Array(kvHeads * n * headDim);
        for (let h = 0; h < kvHeads; h++) {
          out.set(data.subarray(h * total * headDim, (h + 1) * total * headDim), h * (total + n) * headDim);
          for (let i = 0; i < n; i++) {
            const from = (h * total + sources[i]!) * headDim;
            for (let d = 0; d < headDim; d++) copied[(h * n + i) * headDim + d] = half ? fromHalf(data[from + d]!) : data[from + d]!;
          }
        }
        if (kind === 'key') transformKeys?.(layer, copied);
        for (let h = 0; h < kvHeads; h++) {
          const at = (h * (total + n) + total) * headDim;
          const rows = copied.subarray(h * n * headDim, (h + 1) * n * headDim);
          if (half) for (let j = 0; j < rows.length; j++) out[at + j] = toHalf(rows[j]!);
          else out.set(rows, at);
        }
        next[name] = this.tensors(tensor.type, out, [1, kvHeads, total + n, headDim]);
      }
    this.replacePast(next);
    this.cacheLength = total + n;
  }

  async step(input: StepInput): Promise<StepOutput> {
    if (this.disposed) throw new IcotError('internal', 'This decoding session was disposed.');
    throwIfAborted(input.signal);
    const { segments, positions } = input;
    const length = segmentLength(segments);
    if (positions.length !== length) throw new IcotError('internal', `Step has ${length} inputs but ${positions.length} positions.`);
    if (input.attention && !this.decoder.tapOutputs)
      throw new AttentionUnavailableError(`Model ${this.modelId} cannot provide attention: ${this.decoder.unavailableReason}`);
    const main = await this.encodeSegments(segments, length);
    // Fused attention ops materialise [heads, S, T] only because of the tap: long steps go in
    // chunks so that stays [heads, chunk, T]. Plain graphs hold it anyway and run in one piece.
    const chunk = this.decoder.attentionShape && this.decoder.attentionShape !== 'softmax' && this.prefillChunk > 0 ? this.prefillChunk : length;
    let out: Record<string, Tensor> | undefined;
    for (let start = 0; start < length; start += chunk) {
      const end = Math.min(length, start + chunk);
      if (out) this.disposeOutputs(out); // an earlier chunk's logits and taps are not needed
      out = await this.run(main, start, end, length, positions, input.attention === true && end === length);
      if (input.signal?.aborted) this.disposeOutputs(out);
      throwIfAborted(input.signal);
    }
    const total = this.cacheLength;
    try {
      // one row: [1, 1, vocab] from decoders that compute the last position only, else the last of [1, S, vocab]
      const logits = readLastRow(out!['logits']!);
      if (!input.attention) return { logits };
      return { logits, attention: this.readAttention(out!, total) };
    } finally {
      this.disposeOutputs(out!);
    }
  }

  /** Dispose a step's outputs except the cache tensors (read what is needed first). */
  private disposeOutputs(out: Record<string, Tensor>): void {
    for (const [name, tensor] of Object.entries(out)) if (!name.startsWith('present.')) disposeTensor(tensor);
  }

  /** Make `next` the cache, disposing the tensors it supersedes. */
  private replacePast(next: Record<string, Tensor>): void {
    const previous = this.past;
    this.past = next;
    for (const [name, tensor] of Object.entries(previous)) if (next[name] !== tensor) disposeTensor(tensor);
  }

  /**
   * Run inputs `[start, end)` of a step whose main input holds `length` positions. Tap outputs are
   * fetched only when `taps` (a step that asks for no attention skips their last copies).
   */
  private async run(main: Tensor, start: number, end: number, length: number, positions: PositionIds, taps: boolean): Promise<Record<string, Tensor>> {
    const n = end - start;
    const total = this.cacheLength + n;
    const width = main.dims.length === 3 ? main.dims[2]! : 1;
    const input = n === length ? main : this.tensors(main.type, (main.data as Float32Array).subarray(start * width, end * width), main.dims.length === 3 ? [1, n, width] : [1, n]);
    const feeds: Record<string, Tensor> = { ...this.past, ...this.logitsToKeep, [this.decoder.mainInput]: input, attention_mask: this.mask.view(total) };
    if (this.decoder.positionRank) {
      const data = new Int32Array(positions.axes * n);
      for (let a = 0; a < positions.axes; a++) data.set(positions.data.subarray(a * length + start, a * length + end), a * n);
      feeds['position_ids'] = int64Tensor(this.tensors, data, this.decoder.positionRank === 3 ? [positions.axes, 1, n] : [1, n]);
    }
    const out = taps || !this.fetchesWithoutTaps ? await this.decoder.session.run(feeds) : await this.decoder.session.run(feeds, this.fetchesWithoutTaps);
    const next: Record<string, Tensor> = {};
    this.pastNames.forEach((name, i) => (next[name] = out[this.presentNames[i]!]!));
    this.replacePast(next);
    this.cacheLength = total;
    return out;
  }

  private readAttention(out: Record<string, Tensor>, total: number): Float32Array {
    const row = new Float32Array(total);
    const taps = this.decoder.tapOutputs!;
    for (let i = 0; i < taps.length; i++) {
      const layer = this.decoder.attentionLayers[i];
      const values = out[taps[i]!]!.data as Float32Array;
      if (values.length !== total)
        throw new AttentionUnavailableError(
          `The attention tap of layer ${layer} gave ${values.length} values for ${total} cached positions: this decoder's attention does not have the [batch, heads, query, key] layout the tap expects.`,
          { hint: 'This decoder graph shape is not supported for attention; use a selector that needs no attention.' },
        );
      for (let j = 0; j < total; j++) row[j]! += values[j]!;
    }
    const scale = 1 / taps.length;
    for (let j = 0; j < total; j++) row[j]! *= scale;
    return row;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.replacePast({});
  }
}
