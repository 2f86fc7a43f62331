import { OptionError, type DecoderRequirements, type InsertionDecoderV2, type InsertionRequest, type InsertionResult, type PatchLayout } from '@icot/core';

/** Settings of {@link createInputInsertionDecoder}. */
export interface InputInsertionSettings {
  /**
   * Position layout of the inserted patches: `grid` (default, the official ICoT layout) or
   * `source` (keep each patch's row/column relation from the image).
   */
  readonly layout?: PatchLayout;
}

/**
 * Input-end insertion: asks the model family for the block that carries the selected patches
 * (Qwen2-VL: `<|vision_start|>` + features + `<|vision_end|>`; Chameleon: `<boi>` + image-token
 * ids + `<eoi>`) and feeds it as one step after the signal token. The KV cache only grows.
 */
export class InputInsertionDecoder implements InsertionDecoderV2 {
  readonly specificationVersion = 'v2' as const;
  readonly name = 'input';
  readonly requires: DecoderRequirements = { kvCache: false };
  readonly layout: PatchLayout;

  constructor(settings: InputInsertionSettings = {}) {
    const layout = settings.layout ?? 'grid';
    if (layout !== 'grid' && layout !== 'source')
      throw new OptionError(`Unknown patch layout '${String(layout)}'.`, { hint: "Use 'grid' (official) or 'source'." });
    this.layout = layout;
  }

  async insert(request: InsertionRequest): Promise<InsertionResult> {
    const block = request.model.family.insertionBlock({
      image: request.image,
      patches: request.patches,
      start: request.position,
      layout: this.layout,
    });
    const out = await request.session.step({
      segments: block.segments,
      positions: block.positions,
      attention: request.attention ?? false,
      ...(request.layerAttention ? { layerAttention: request.layerAttention } : {}),
      signal: request.signal,
    });
    return {
      logits: out.logits,
      ...(out.attention ? { attention: out.attention } : {}),
      ...(out.layerAttention ? { layerAttention: out.layerAttention } : {}),
      nextPosition: block.nextPosition,
      insertedTokens: block.positions.length,
    };
  }
}

/** Create the paper's input-end insertion decoder. */
export function createInputInsertionDecoder(settings: InputInsertionSettings = {}): InputInsertionDecoder {
  return new InputInsertionDecoder(settings);
}
