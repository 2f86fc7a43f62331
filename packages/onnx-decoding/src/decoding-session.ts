import {
  AttentionUnavailableError,
  IcotError,
  segmentLength,
  throwIfAborted,
  type DecodingSessionV1,
  type InputSegment,
  type PositionIds,
  type StepInput,
  type StepOutput,
} from '@icot/core';
import type { Tensor } from 'onnxruntime-common';
import type { DecoderGraph } from './decoder.js';
import { defaultTensorFactory, emptyTensor, int64Tensor, OnesMask, readFloat, type TensorFactory } from './tensors.js';

/** Turns a step's segments into the decoder's main input tensor (embeddings or token ids). */
export type SegmentEncoder = (segments: readonly InputSegment[], length: number) => Promise<Tensor>;

/**
 * One KV cache driven through a decoder graph. The cache tensors returned by a step are fed to
 * the next as they are (no copies); the attention mask is a view of a growing buffer of ones.
 */
export class OnnxDecodingSession implements DecodingSessionV1 {
  private past: Record<string, Tensor> = {};
  private cacheLength = 0;
  private disposed = false;
  private readonly mask: OnesMask;
  private readonly pastNames: string[] = [];
  private readonly presentNames: string[] = [];

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
  }

  get length(): number {
    return this.cacheLength;
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
      out = await this.run(main, start, end, length, positions);
      throwIfAborted(input.signal);
    }
    const total = this.cacheLength;
    const logitsTensor = out!['logits']!;
    const vocab = logitsTensor.dims[2]!;
    const rows = logitsTensor.dims[1]!;
    const all = logitsTensor.type === 'float32' ? (logitsTensor.data as Float32Array) : readFloat(logitsTensor);
    const logits = all.subarray((rows - 1) * vocab, rows * vocab);
    if (!input.attention) return { logits };
    return { logits, attention: this.readAttention(out!, total) };
  }

  /** Run inputs `[start, end)` of a step whose main input holds `length` positions. */
  private async run(main: Tensor, start: number, end: number, length: number, positions: PositionIds): Promise<Record<string, Tensor>> {
    const n = end - start;
    const total = this.cacheLength + n;
    const width = main.dims.length === 3 ? main.dims[2]! : 1;
    const input = n === length ? main : this.tensors(main.type, (main.data as Float32Array).subarray(start * width, end * width), main.dims.length === 3 ? [1, n, width] : [1, n]);
    const feeds: Record<string, Tensor> = { ...this.past, [this.decoder.mainInput]: input, attention_mask: this.mask.view(total) };
    if (this.decoder.positionRank) {
      const data = new Int32Array(positions.axes * n);
      for (let a = 0; a < positions.axes; a++) data.set(positions.data.subarray(a * length + start, a * length + end), a * n);
      feeds['position_ids'] = int64Tensor(this.tensors, data, this.decoder.positionRank === 3 ? [positions.axes, 1, n] : [1, n]);
    }
    const out = await this.decoder.session.run(feeds);
    const next: Record<string, Tensor> = {};
    this.pastNames.forEach((name, i) => (next[name] = out[this.presentNames[i]!]!));
    this.past = next;
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
    this.disposed = true;
    this.past = {};
  }
}
