import {
  AttentionUnavailableError,
  CapabilityError,
  IcotError,
  OptionError,
  segmentLength,
  throwIfAborted,
  type DecodingSessionV2,
  type InputSegment,
  type KvCacheV1,
  type PositionIds,
  type StepInput,
  type StepOutput,
} from '@icot/core';
import type { Tensor } from 'onnxruntime-common';
import type { DecoderGraph } from './decoder.js';
import { fromHalf, toHalf } from './float16.js';
import { defaultTensorFactory, disposeTensor, emptyTensor, int64Tensor, OnesMask, readFloatRange, readLastRow, type TensorFactory } from './tensors.js';

/** Turns a step's segments into the decoder's main input tensor (embeddings or token ids). */
export type SegmentEncoder = (segments: readonly InputSegment[], length: number) => Promise<Tensor>;

/**
 * Reference counts of cache tensors shared by a session and its forks: a tensor is disposed when
 * the last session holding it lets go (a fork feeds the same past tensors to its own runs, which
 * never modify them, so forking copies nothing).
 */
class SharedTensors {
  private readonly counts = new Map<Tensor, number>();

  retain(tensors: Iterable<Tensor>): void {
    for (const t of tensors) this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
  }

  release(tensors: Iterable<Tensor>): void {
    for (const t of tensors) {
      const n = (this.counts.get(t) ?? 1) - 1;
      if (n > 0) this.counts.set(t, n);
      else {
        this.counts.delete(t);
        disposeTensor(t);
      }
    }
  }
}

/** What a session and its forks share: the graph, how inputs are encoded, tensors and their counts. */
interface SessionParts {
  readonly decoder: DecoderGraph;
  readonly encodeSegments: SegmentEncoder;
  readonly modelId: string;
  readonly prefillChunk: number;
  readonly tensors: TensorFactory;
  readonly shared: SharedTensors;
  readonly pastNames: readonly string[];
  readonly presentNames: readonly string[];
  /** What a step that reads no attention fetches: the logits and the cache (never the tap outputs). */
  readonly plainFetches: readonly string[];
  /** `num_logits_to_keep` / `logits_to_keep` = 1, for exports with that input. */
  readonly logitsToKeep: Readonly<Record<string, Tensor>>;
}

/**
 * One KV cache driven through a decoder graph. The cache tensors returned by a step are fed to
 * the next as they are (no copies); the attention mask is a view of a growing buffer of ones.
 * Only the last position's logits are read (float16 logits: only that row is converted), and
 * tensors a step supersedes (the previous cache, outputs not kept) are disposed - counted, so a
 * fork that still uses a cache tensor keeps it alive. Tap outputs are fetched only by steps that
 * read attention, and then only the layers asked for.
 */
export class OnnxDecodingSession implements DecodingSessionV2 {
  private past: Record<string, Tensor> = {};
  private cacheLength = 0;
  private disposed = false;
  private readonly mask: OnesMask;
  private readonly parts: SessionParts;

  constructor(
    decoder: DecoderGraph,
    encodeSegments: SegmentEncoder,
    modelId: string,
    /** Longest run fed to fused attention in one call (0 = no chunking). */
    prefillChunk = 512,
    tensors: TensorFactory = defaultTensorFactory,
    /** Internal: the parts and cache of the session this one forks. */
    from?: { readonly parts: SessionParts; readonly past: Record<string, Tensor>; readonly length: number },
  ) {
    if (from) {
      this.parts = from.parts;
      this.past = { ...from.past };
      this.cacheLength = from.length;
    } else {
      const pastNames: string[] = [];
      const presentNames: string[] = [];
      for (let i = 0; i < decoder.layers; i++)
        for (const kind of ['key', 'value']) {
          pastNames.push(`past_key_values.${i}.${kind}`);
          presentNames.push(`present.${i}.${kind}`);
        }
      const logitsToKeep: Record<string, Tensor> = {};
      const rows = decoder.logits;
      if (rows.rows === 'last' && rows.how === 'logits-to-keep-input') logitsToKeep[rows.input] = int64Tensor(tensors, [1], rows.inputRank === 0 ? [] : [1]);
      this.parts = { decoder, encodeSegments, modelId, prefillChunk, tensors, shared: new SharedTensors(), pastNames, presentNames, plainFetches: ['logits', ...presentNames], logitsToKeep };
      for (const name of pastNames) this.past[name] = emptyTensor(tensors, decoder.pastType, [1, decoder.kvHeads, 0, decoder.headDim]);
    }
    this.parts.shared.retain(Object.values(this.past));
    this.mask = new OnesMask(this.parts.tensors);
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
    const { decoder } = this.parts;
    return {
      layers: decoder.layers,
      kvHeads: decoder.kvHeads,
      headDim: decoder.headDim,
      appendCopies: (sources, transformKeys) => this.appendCopies(sources, transformKeys),
    };
  }

  /** A session that starts from this cache as it stands: no tensor is copied, each session is disposed on its own. */
  fork(): OnnxDecodingSession {
    this.checkLive();
    const { decoder, encodeSegments, modelId, prefillChunk, tensors } = this.parts;
    return new OnnxDecodingSession(decoder, encodeSegments, modelId, prefillChunk, tensors, { parts: this.parts, past: this.past, length: this.cacheLength });
  }

  private checkLive(): void {
    if (this.disposed) throw new IcotError('internal', 'This decoding session was disposed.');
  }

  private appendCopies(sources: readonly number[], transformKeys?: (layer: number, keys: Float32Array) => void): void {
    this.checkLive();
    const { decoder, tensors } = this.parts;
    const { kvHeads, headDim } = decoder;
    const total = this.cacheLength;
    const n = sources.length;
    for (const s of sources) if (!Number.isInteger(s) || s < 0 || s >= total) throw new IcotError('internal', `Cache entry ${s} does not exist (the cache holds ${total}).`);
    const next: Record<string, Tensor> = {};
    for (let layer = 0; layer < decoder.layers; layer++)
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
        next[name] = tensors(tensor.type, out, [1, kvHeads, total + n, headDim]);
      }
    this.replacePast(next);
    this.cacheLength = total + n;
  }

  /**
   * The tap outputs a step reads: every tap for the whole attention row, the taps of the listed
   * layers for a per-layer row, none otherwise. Throws when a layer is not tapped.
   */
  private tapsFor(input: Pick<StepInput, 'attention' | 'layerAttention'>): { whole: readonly string[] | undefined; layers: readonly string[] | undefined } {
    const { decoder, modelId } = this.parts;
    const taps = decoder.tapOutputs;
    if ((input.attention || input.layerAttention) && !taps)
      throw new AttentionUnavailableError(`Model ${modelId} cannot provide attention: ${decoder.unavailableReason}`);
    const layers = input.layerAttention?.map((layer) => {
      const i = decoder.attentionLayers.indexOf(layer);
      if (i < 0)
        throw new CapabilityError('layerAttention', `Model ${modelId} reads attention from layers ${decoder.attentionLayers.join(', ')}, not layer ${layer}.`, {
          hint: 'Load the model with attention layers that include it (e.g. attentionLayers: all).',
        });
      return taps![i]!;
    });
    if (layers && layers.length === 0) throw new OptionError('layerAttention is an empty list of layers.');
    return { whole: input.attention ? taps : undefined, layers };
  }

  async step(input: StepInput): Promise<StepOutput> {
    this.checkLive();
    throwIfAborted(input.signal);
    const { decoder } = this.parts;
    const { segments, positions } = input;
    const length = segmentLength(segments);
    if (positions.length !== length) throw new IcotError('internal', `Step has ${length} inputs but ${positions.length} positions.`);
    const taps = input.attention || input.layerAttention ? this.tapsFor(input) : NO_TAPS;
    const plain = this.parts.plainFetches;
    const fetches = taps === NO_TAPS ? plain : [...plain, ...new Set([...(taps.whole ?? []), ...(taps.layers ?? [])])];
    const main = await this.parts.encodeSegments(segments, length);
    // Fused attention ops materialise [heads, S, T] only because of their attention output
    // (qk-output taps): long steps go in chunks so that stays [heads, chunk, T]. Plain graphs hold
    // it anyway, and recomputed taps read one row: they run in one piece.
    const chunk = decoder.fusedAttentionTap === 'qk-output' && this.parts.prefillChunk > 0 ? this.parts.prefillChunk : length;
    let out: Record<string, Tensor> | undefined;
    for (let start = 0; start < length; start += chunk) {
      const end = Math.min(length, start + chunk);
      if (out) this.disposeOutputs(out); // an earlier chunk's logits and taps are not needed
      out = await this.run(main, start, end, length, positions, end === length ? fetches : plain);
      if (input.signal?.aborted) this.disposeOutputs(out);
      throwIfAborted(input.signal);
    }
    const total = this.cacheLength;
    try {
      // one row: [1, 1, vocab] from decoders that compute the last position only, else the last of [1, S, vocab]
      const logits = readLastRow(out!['logits']!);
      return {
        logits,
        ...(taps.whole ? { attention: averageTaps(out!, taps.whole, total, 0, decoder.attentionLayers) } : {}),
        ...(taps.layers ? { layerAttention: averageTaps(out!, taps.layers, total, 0, input.layerAttention!) } : {}),
      };
    } finally {
      this.disposeOutputs(out!);
    }
  }

  /**
   * Each input as its own continuation of the cache, in one batched run: the cache is tiled once
   * per batch row (the one copy side runs make); the cache of this session is not changed, and
   * the batch's own cache outputs are never fetched. On GroupQueryAttention decoders, inputs of
   * more than one position run row by row on forks instead (onnxruntime's kernel refuses them
   * batched), with the same outputs.
   */
  async sideRuns(inputs: readonly StepInput[]): Promise<readonly StepOutput[]> {
    this.checkLive();
    const { decoder, tensors, pastNames, logitsToKeep } = this.parts;
    const batch = inputs.length;
    if (batch === 0) return [];
    for (const input of inputs) throwIfAborted(input.signal);
    const n = segmentLength(inputs[0]!.segments);
    for (const input of inputs) {
      if (segmentLength(input.segments) !== n || input.positions.length !== n)
        throw new OptionError(`Batched side runs need inputs of one length: got ${inputs.map((i) => segmentLength(i.segments)).join(', ')} inputs with ${inputs.map((i) => i.positions.length).join(', ')} positions.`, {
          hint: 'Run inputs of different lengths in separate batches (or on forks).',
        });
    }
    const taps = inputs.map((input) => this.tapsFor(input));
    // onnxruntime's GroupQueryAttention refuses batches of several positions per row over a cache:
    // those rows run one after another on forks (the same outputs; still no cache copy)
    if (decoder.groupQueryAttention && n > 1 && batch > 1) {
      const outputs: StepOutput[] = [];
      for (const input of inputs) {
        const fork = this.fork();
        try {
          outputs.push(await fork.step(input));
        } finally {
          fork.dispose();
        }
      }
      return outputs;
    }
    const reads = new Set(taps.flatMap((t) => [...(t.whole ?? []), ...(t.layers ?? [])]));
    const mains = await Promise.all(inputs.map((input) => this.parts.encodeSegments(input.segments, n)));
    const width = mains[0]!.dims.length === 3 ? mains[0]!.dims[2]! : 1;
    const main = new (mains[0]!.data.constructor as new (n: number) => Float32Array | Uint16Array | BigInt64Array)(batch * n * width);
    mains.forEach((m, b) => (main as Float32Array).set(m.data as Float32Array, b * n * width));
    const total = this.cacheLength + n;
    const feeds: Record<string, Tensor> = {
      ...logitsToKeep,
      [decoder.mainInput]: tensors(mains[0]!.type, main, mains[0]!.dims.length === 3 ? [batch, n, width] : [batch, n]),
      attention_mask: tensors('int64', new BigInt64Array(batch * total).fill(1n), [batch, total]),
    };
    for (const name of pastNames) {
      const tensor = this.past[name]!;
      const data = tensor.data as Float32Array | Uint16Array;
      const tiled = new (data.constructor as new (n: number) => Float32Array | Uint16Array)(batch * data.length);
      for (let b = 0; b < batch; b++) tiled.set(data, b * data.length);
      feeds[name] = tensors(tensor.type, tiled, [batch, ...tensor.dims.slice(1)]);
    }
    if (decoder.positionRank) {
      const axes = inputs[0]!.positions.axes;
      const data = new Int32Array(axes * batch * n);
      inputs.forEach((input, b) => {
        for (let a = 0; a < axes; a++) data.set(input.positions.data.subarray(a * n, (a + 1) * n), (a * batch + b) * n);
      });
      feeds['position_ids'] = int64Tensor(tensors, data, decoder.positionRank === 3 ? [axes, batch, n] : [batch, n]);
    }
    let out: Record<string, Tensor> | undefined;
    try {
      out = await decoder.session.run(feeds, ['logits', ...reads]);
      const logits = out['logits']!;
      const vocab = logits.dims[logits.dims.length - 1]!;
      const rowsPerInput = logits.size / vocab / batch;
      return inputs.map((input, b) => {
        const end = (b + 1) * rowsPerInput * vocab;
        const t = taps[b]!;
        return {
          // copied out of the batch's tensor, which is disposed below
          logits: Float32Array.from(readFloatRange(logits, end - vocab, end)),
          ...(t.whole ? { attention: averageTaps(out!, t.whole, total, b, decoder.attentionLayers) } : {}),
          ...(t.layers ? { layerAttention: averageTaps(out!, t.layers, total, b, input.layerAttention!) } : {}),
        };
      });
    } finally {
      for (const name of pastNames) disposeTensor(feeds[name]);
      if (out) for (const tensor of Object.values(out)) disposeTensor(tensor);
    }
  }

  /** Dispose a step's outputs except the cache tensors (read what is needed first). */
  private disposeOutputs(out: Record<string, Tensor>): void {
    for (const [name, tensor] of Object.entries(out)) if (!name.startsWith('present.')) disposeTensor(tensor);
  }

  /** Make `next` the cache: the new tensors are held, the superseded ones let go (disposed unless a fork holds them). */
  private replacePast(next: Record<string, Tensor>): void {
    const previous = this.past;
    this.past = next;
    this.parts.shared.retain(Object.values(next));
    this.parts.shared.release(Object.values(previous));
  }

  /** Run inputs `[start, end)` of a step whose main input holds `length` positions, fetching `fetches`. */
  private async run(main: Tensor, start: number, end: number, length: number, positions: PositionIds, fetches: readonly string[]): Promise<Record<string, Tensor>> {
    const { decoder, tensors, pastNames, presentNames, logitsToKeep } = this.parts;
    const n = end - start;
    const total = this.cacheLength + n;
    const width = main.dims.length === 3 ? main.dims[2]! : 1;
    const input = n === length ? main : tensors(main.type, (main.data as Float32Array).subarray(start * width, end * width), main.dims.length === 3 ? [1, n, width] : [1, n]);
    const feeds: Record<string, Tensor> = { ...this.past, ...logitsToKeep, [decoder.mainInput]: input, attention_mask: this.mask.view(total) };
    if (decoder.positionRank) {
      const data = new Int32Array(positions.axes * n);
      for (let a = 0; a < positions.axes; a++) data.set(positions.data.subarray(a * length + start, a * length + end), a * n);
      feeds['position_ids'] = int64Tensor(tensors, data, decoder.positionRank === 3 ? [positions.axes, 1, n] : [1, n]);
    }
    const out = await decoder.session.run(feeds, fetches);
    const next: Record<string, Tensor> = {};
    pastNames.forEach((name, i) => (next[name] = out[presentNames[i]!]!));
    this.replacePast(next);
    this.cacheLength = total;
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.replacePast({});
  }
}

/** The taps of a step that reads no attention. */
const NO_TAPS: { readonly whole: undefined; readonly layers: undefined } = Object.freeze({ whole: undefined, layers: undefined });

/**
 * The attention row of batch row `row` averaged over the tap outputs `names` (one per layer in
 * `layers`, for messages): each tap is `[batch, total]`.
 */
function averageTaps(out: Record<string, Tensor>, names: readonly string[], total: number, row: number, layers: readonly number[]): Float32Array {
  const result = new Float32Array(total);
  for (let i = 0; i < names.length; i++) {
    const tensor = out[names[i]!]!;
    const values = tensor.data as Float32Array;
    if (values.length % total !== 0 || values.length / total <= row)
      throw new AttentionUnavailableError(
        `The attention tap of layer ${layers[i]} gave ${values.length} values for ${total} cached positions: this decoder's attention does not have the [batch, heads, query, key] layout the tap expects.`,
        { hint: 'This decoder graph shape is not supported for attention; use a selector that needs no attention.' },
      );
    const base = row * total;
    for (let j = 0; j < total; j++) result[j]! += values[base + j]!;
  }
  const scale = 1 / names.length;
  for (let j = 0; j < total; j++) result[j]! *= scale;
  return result;
}
