import { ModelConfigError, ModelFilesError, type ModelCapabilities } from '@icot/core';
import { parseOnnxModel, type OnnxModelInfo } from '@icot/onnx-proto';
import { findAttentionSites, tapAttention, type AttentionGraphShape } from './attention-tap.js';
import { resolveAttentionLayers, type AttentionLayerSetting } from './layers.js';
import { inputSpecs, type OrtSession } from './tensors.js';

/** How to prepare a decoder graph. */
export interface DecoderPreparation {
  /** Layers to tap (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /** Add attention taps (default true); false keeps the graph unchanged, e.g. for plain decoding. */
  readonly tapAttention?: boolean;
}

/** A decoder graph checked against the onnx-community contract, with attention taps when supported. */
export interface PreparedDecoder {
  /** The graph to load: edited when tapped, else the original bytes. */
  readonly bytes: Uint8Array;
  /** Whether `bytes` differs from the original. */
  readonly edited: boolean;
  readonly info: OnnxModelInfo;
  /** Tap output names, one per tapped layer (undefined when not tapped). */
  readonly tapOutputs: readonly string[] | undefined;
  /** Decoder layers the taps report, averaged into the attention row. */
  readonly attentionLayers: readonly number[];
  readonly attentionShape: AttentionGraphShape | undefined;
  readonly unavailableReason: string | undefined;
  /** `inputs_embeds` or `input_ids`. */
  readonly mainInput: string;
  readonly layers: number;
}

/**
 * Check a decoder graph against the onnx-community contract (`inputs_embeds` or `input_ids`,
 * `attention_mask`, `position_ids`, `past_key_values.{i}.key/value` -> `logits`,
 * `present.{i}.key/value`) and add attention taps when its attention shape is supported.
 * `label` names the file in errors.
 */
export function prepareDecoder(bytes: Uint8Array, label: string, options: DecoderPreparation = {}): PreparedDecoder {
  let info: OnnxModelInfo;
  try {
    info = parseOnnxModel(bytes);
  } catch (error) {
    throw new ModelFilesError(`${label} is not a readable ONNX model: ${(error as Error).message}`, { hint: 'Download the file again.', cause: error });
  }
  const names = new Set(info.inputs.map((i) => i.name));
  const mainInput = names.has('inputs_embeds') ? 'inputs_embeds' : names.has('input_ids') ? 'input_ids' : undefined;
  const lacking = [mainInput ? undefined : 'inputs_embeds (or input_ids)', ...['attention_mask', 'past_key_values.0.key'].filter((n) => !names.has(n))].filter(Boolean);
  if (lacking.length)
    throw new ModelConfigError(`${label} lacks the inputs ${lacking.join(', ')}.`, {
      hint: 'Expected the onnx-community decoder contract: inputs_embeds or input_ids, attention_mask, position_ids, past_key_values.{i}.key/value -> logits, present.{i}.key/value.',
    });
  const layers = info.inputs.filter((i) => /^past_key_values\.\d+\.key$/.test(i.name)).length;
  const attentionLayers = resolveAttentionLayers(options.attentionLayers, layers);
  const sites =
    options.tapAttention === false
      ? ({ supported: false, reason: 'the model was loaded without attention taps (tapAttention: false).' } as const)
      : findAttentionSites(info, layers);
  const tapped = sites.supported ? tapAttention(info, sites, attentionLayers) : undefined;
  return {
    bytes: tapped ? tapped.bytes : bytes,
    edited: tapped !== undefined,
    info,
    tapOutputs: tapped?.outputs,
    attentionLayers,
    attentionShape: sites.supported ? sites.shape : undefined,
    unavailableReason: sites.supported ? undefined : sites.reason,
    mainInput: mainInput!,
    layers,
  };
}

/** A loaded decoder with what a decoding session needs to drive it. */
export interface DecoderGraph extends Omit<PreparedDecoder, 'bytes' | 'info' | 'edited'> {
  readonly session: OrtSession;
  readonly mainInputType: string;
  readonly pastType: string;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Rank of `position_ids` (3 = M-RoPE [3,B,S], 2 = [B,S]); 0 when the decoder takes none. */
  readonly positionRank: number;
}

/** Fallbacks for shapes the graph leaves symbolic. */
export interface DecoderShapeHints {
  readonly numKeyValueHeads: number;
  readonly headDim: number;
}

/** Combine a prepared decoder with the session loaded from its bytes. */
export function describeDecoder(prepared: PreparedDecoder, session: OrtSession, hints: DecoderShapeHints): DecoderGraph {
  const specs = inputSpecs(session);
  const past = specs.get('past_key_values.0.key')!;
  return {
    session,
    tapOutputs: prepared.tapOutputs,
    attentionLayers: prepared.attentionLayers,
    attentionShape: prepared.attentionShape,
    unavailableReason: prepared.unavailableReason,
    mainInput: prepared.mainInput,
    layers: prepared.layers,
    mainInputType: specs.get(prepared.mainInput)?.type ?? 'float32',
    pastType: past.type,
    kvHeads: typeof past.shape[1] === 'number' ? past.shape[1] : hints.numKeyValueHeads,
    headDim: typeof past.shape[3] === 'number' ? past.shape[3] : hints.headDim,
    positionRank: specs.get('position_ids')?.shape.length ?? 0,
  };
}

/** What a model driven through this decoder can do: attention when tapped, and KV-cache access. */
export function decoderCapabilities(decoder: DecoderGraph): ModelCapabilities {
  return decoder.tapOutputs
    ? { attention: true, kvCache: true }
    : { attention: false, attentionUnavailableReason: decoder.unavailableReason ?? 'unknown', kvCache: true };
}
