import {
  CapabilityError,
  gatherPositions,
  OptionError,
  slicePositions,
  type DecoderRequirements,
  type InsertionDecoderV2,
  type InsertionRequest,
  type InsertionResult,
  type PatchLayout,
  type StepOutput,
} from '@icot/core';
import { rebindKeys } from './rope.js';

/** `copy`: cached K/V copied unchanged (the paper's ablation); `rebind`: copied keys re-rotated to their new positions. */
export type KvInsertionMode = 'copy' | 'rebind';

/** Settings of {@link createKvInsertionDecoder}. */
export interface KvInsertionSettings {
  readonly mode: KvInsertionMode;
  /**
   * Feed the family's framing tokens (Qwen2-VL `<|vision_start|>` / `<|vision_end|>`, Chameleon
   * `<boi>` / `<eoi>`) as ordinary input around the copied entries (default true). Without them,
   * nothing is fed: the copies join the cache and the next token is still predicted from the
   * logits before the insertion, so the copies shape the tokens after it.
   */
  readonly delimiters?: boolean;
  /** Position layout of the block (default `grid`, the official one). */
  readonly layout?: PatchLayout;
}

/**
 * KV-cache insertion: instead of re-encoding the selected patches through every layer, append
 * copies of their cached keys and values (from the prompt's image tokens) to the cache. `copy`
 * keeps their old rotary positions; `rebind` rotates each copied key from its source position to
 * the position the inserted block gives it, which on a one-layer model equals input insertion.
 */
export class KvInsertionDecoder implements InsertionDecoderV2 {
  readonly specificationVersion = 'v2' as const;
  readonly requires: DecoderRequirements = { kvCache: true };
  readonly name: string;
  readonly layout: PatchLayout;
  readonly mode: KvInsertionMode;
  readonly delimiters: boolean;

  constructor(settings: KvInsertionSettings) {
    if (settings.mode !== 'copy' && settings.mode !== 'rebind') throw new OptionError(`Unknown KV insertion mode '${String(settings.mode)}'.`, { hint: "Use 'copy' or 'rebind'." });
    this.mode = settings.mode;
    this.name = settings.mode === 'copy' ? 'kv-copy' : 'kv-rebind';
    this.layout = settings.layout ?? 'grid';
    this.delimiters = settings.delimiters ?? true;
  }

  async insert(request: InsertionRequest): Promise<InsertionResult> {
    const { model, session } = request;
    const cache = session.kvCache;
    if (!cache)
      throw new CapabilityError('kvCache', `The ${model.provider} backend gives no access to its KV cache, which ${this.name} needs.`, {
        hint: 'Use the input decoder, or a backend whose capabilities include kvCache.',
      });
    const rope = model.rope;
    if (this.mode === 'rebind' && !rope)
      throw new OptionError(`Model ${model.modelId} has no rotary embedding description, so ${this.name} cannot re-rotate keys.`, { hint: 'Use kv-copy or the input decoder.' });
    const block = model.family.insertionBlock({ image: request.image, patches: request.patches, start: request.position, layout: this.layout });
    const before = session.length;
    let last: StepOutput | undefined;
    let offset = 0;
    for (const segment of block.segments) {
      const count = segment.type === 'tokens' ? segment.ids.length : (segment.patches?.length ?? segment.image.patchCount);
      const positions = slicePositions(block.positions, offset, offset + count);
      offset += count;
      if (segment.type === 'tokens') {
        if (this.delimiters)
          last = await session.step({
            segments: [segment],
            positions,
            attention: request.attention ?? false,
            ...(request.layerAttention ? { layerAttention: request.layerAttention } : {}),
            signal: request.signal,
          });
        continue;
      }
      const patches = segment.patches ?? Array.from({ length: segment.image.patchCount }, (_, i) => i);
      // the patch map says where each selected patch sits in the cache (anywhere, for tiled images)
      const sources = patches.map((p) => request.cacheIndices[p]!);
      if (this.mode === 'copy') cache.appendCopies(sources);
      else {
        const from = gatherPositions(request.imagePositions, patches);
        cache.appendCopies(sources, (_layer, keys) => rebindKeys(keys, cache.kvHeads, patches.length, rope!, from, positions));
      }
    }
    return {
      logits: last?.logits ?? request.logits,
      ...(last?.attention ? { attention: last.attention } : {}),
      ...(last?.layerAttention ? { layerAttention: last.layerAttention } : {}),
      nextPosition: block.nextPosition,
      insertedTokens: session.length - before,
    };
  }
}

/** Create a KV-cache insertion decoder (`kv-copy` or `kv-rebind`). */
export function createKvInsertionDecoder(settings: KvInsertionSettings): KvInsertionDecoder {
  return new KvInsertionDecoder(settings);
}
