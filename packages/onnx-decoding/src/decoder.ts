import { ModelConfigError, ModelFilesError, type ModelCapabilities } from '@icot/core';
import { parseOnnxModel, type OnnxModelInfo } from '@icot/onnx-proto';
import { recomputeUnsupportedReason, type FusedAttentionTap } from './attention-recompute.js';
import { findAttentionSites, tapAttention, type AttentionGraphShape, type AttentionSites } from './attention-tap.js';
import { resolveAttentionLayers, type AttentionLayerSetting } from './layers.js';
import { findLogitsProjection, LOGITS_TO_KEEP_INPUTS, sliceLogitsToLastPosition, type LogitsRows } from './logits.js';
import { inputSpecs, type OrtSession } from './tensors.js';

/** How to prepare a decoder graph. */
export interface DecoderPreparation {
  /** Layers to tap (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /** Add attention taps (default true); false loads the graph without them, e.g. for plain decoding. */
  readonly tapAttention?: boolean;
  /**
   * Which positions of a step get logits (default 'last'): 'last' computes the output projection
   * for the last position only (through the export's `num_logits_to_keep` / `logits_to_keep`
   * input, or by slicing the activation right before the projection), so a prefill returns one
   * row of vocabulary size instead of one per input position; 'all' keeps every row.
   */
  readonly logits?: 'last' | 'all';
  /**
   * How attention of fused attention nodes (GroupQueryAttention, MultiHeadAttention) is tapped
   * (default 'qk-output', which only onnxruntime's CPU kernels write): pick it for the execution
   * providers the graph will run on with `fusedAttentionTapFor(executionProviders)`.
   */
  readonly fusedAttentionTap?: FusedAttentionTap;
}

/** A decoder graph checked against the onnx-community contract, with attention taps when supported. */
export interface PreparedDecoder {
  /** The graph to load: edited when tapped, else the original bytes. */
  readonly bytes: Uint8Array;
  /** Whether `bytes` differs from the original. */
  readonly edited: boolean;
  /** Which rows of logits a step returns, and how (or why every row). */
  readonly logits: LogitsRows;
  readonly info: OnnxModelInfo;
  /** Tap output names, one per tapped layer (undefined when not tapped). */
  readonly tapOutputs: readonly string[] | undefined;
  /** Decoder layers the taps report, averaged into the attention row. */
  readonly attentionLayers: readonly number[];
  readonly attentionShape: AttentionGraphShape | undefined;
  /** How fused attention is tapped (undefined for plain graphs and untapped decoders). */
  readonly fusedAttentionTap: FusedAttentionTap | undefined;
  readonly unavailableReason: string | undefined;
  /** `inputs_embeds` or `input_ids`. */
  readonly mainInput: string;
  readonly layers: number;
  /**
   * Whether attention runs in `com.microsoft.GroupQueryAttention`, whose CPU kernel takes batches
   * of several rows only for one new position per row when a cache is given (batched side runs of
   * longer inputs then go row by row).
   */
  readonly groupQueryAttention: boolean;
}

/**
 * Check a decoder graph against the onnx-community contract (`inputs_embeds` or `input_ids`,
 * `attention_mask`, `position_ids`, `past_key_values.{i}.key/value` -> `logits`,
 * `present.{i}.key/value`), add attention taps when its attention shape is supported, and limit
 * its logits to the last position (see {@link DecoderPreparation.logits}; graphs of an unexpected
 * shape keep every row, and `logits.reason` says why). `label` names the file in errors.
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
  const fused = options.fusedAttentionTap ?? 'qk-output';
  let sites: AttentionSites =
    options.tapAttention === false
      ? ({ supported: false, reason: 'the model was loaded without attention taps (tapAttention: false).' } as const)
      : findAttentionSites(info, layers);
  if (sites.supported && sites.shape !== 'softmax' && fused === 'recompute') {
    const why = recomputeUnsupportedReason(info, attentionLayers.map((layer) => sites.supported && sites.nodes[layer]!).filter((n) => n !== false));
    if (why)
      sites = {
        supported: false,
        reason: `on execution providers other than the CPU the attention of fused attention nodes is recomputed from plain operators, but ${why}. Run on executionProviders: ['cpu'] to read it through the node's own attention output.`,
      };
  }
  const tapped = sites.supported ? tapAttention(info, sites, attentionLayers, fused) : undefined;
  let edited = tapped?.bytes;
  let logits: LogitsRows;
  const keepInput = info.inputs.find((i) => (LOGITS_TO_KEEP_INPUTS as readonly string[]).includes(i.name));
  if (options.logits === 'all') logits = { rows: 'all', reason: "every position's logits were asked for (logits: 'all')" };
  else if (keepInput) logits = { rows: 'last', how: 'logits-to-keep-input', input: keepInput.name, inputRank: keepInput.dims?.length ?? 0 };
  else {
    const base = edited ? parseOnnxModel(edited) : info;
    const projection = findLogitsProjection(base);
    if (projection.found) {
      edited = sliceLogitsToLastPosition(base, projection.node);
      logits = { rows: 'last', how: 'sliced-before-projection', projection: projection.node.name };
    } else logits = { rows: 'all', reason: `${label} keeps logits for every position: ${projection.reason}.` };
  }
  return {
    bytes: edited ?? bytes,
    edited: edited !== undefined,
    logits,
    info,
    tapOutputs: tapped?.outputs,
    attentionLayers,
    attentionShape: sites.supported ? sites.shape : undefined,
    fusedAttentionTap: sites.supported && sites.shape !== 'softmax' ? fused : undefined,
    unavailableReason: sites.supported ? undefined : sites.reason,
    mainInput: mainInput!,
    layers,
    groupQueryAttention: info.nodes.some((n) => n.opType === 'GroupQueryAttention' && n.domain === 'com.microsoft'),
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
    logits: prepared.logits,
    attentionLayers: prepared.attentionLayers,
    attentionShape: prepared.attentionShape,
    fusedAttentionTap: prepared.fusedAttentionTap,
    unavailableReason: prepared.unavailableReason,
    mainInput: prepared.mainInput,
    layers: prepared.layers,
    groupQueryAttention: prepared.groupQueryAttention,
    mainInputType: specs.get(prepared.mainInput)?.type ?? 'float32',
    pastType: past.type,
    kvHeads: typeof past.shape[1] === 'number' ? past.shape[1] : hints.numKeyValueHeads,
    headDim: typeof past.shape[3] === 'number' ? past.shape[3] : hints.headDim,
    positionRank: specs.get('position_ids')?.shape.length ?? 0,
  };
}

/** What a model's images offer, which the decoder cannot know. */
export interface ImageCapabilities {
  /** Encoded images keep the decoded image. */
  readonly pixels: boolean;
  /** Images are tiled. */
  readonly tiledImages: boolean;
}

/**
 * What a model driven through this decoder ({@link OnnxDecodingSession}) can do: attention (whole
 * row and per layer) when tapped, KV-cache access, forks and batched side runs; `images` adds
 * what its images offer.
 */
export function decoderCapabilities(decoder: DecoderGraph, images: ImageCapabilities): ModelCapabilities {
  const tapped = decoder.tapOutputs !== undefined;
  return {
    attention: tapped,
    ...(tapped ? {} : { attentionUnavailableReason: decoder.unavailableReason ?? 'unknown' }),
    attentionLayers: tapped ? decoder.attentionLayers : [],
    decoderLayers: decoder.layers,
    layerAttention: tapped,
    kvCache: true,
    fork: true,
    batchedSideRuns: true,
    ...images,
  };
}
