import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelConfigError, ModelFilesError } from '@icot/core';
import { parseOnnxModel } from '@icot/onnx-proto';
import { findAttentionSites, tapAttention, type AttentionGraphShape } from './attention-tap.js';
import { resolveAttentionLayers, type AttentionLayerSetting } from './decoding-session.js';
import { createOrtSession, inputSpecs, type OrtSettings, type ort } from './ort-io.js';

/** A loaded decoder graph with what the sessions need to drive it. */
export interface DecoderGraph {
  readonly session: ort.InferenceSession;
  /** Tap output names, one per tapped layer (undefined when the attention is not tapped). */
  readonly tapOutputs: readonly string[] | undefined;
  /** Decoder layers whose attention the taps report (averaged into the attention row). */
  readonly attentionLayers: readonly number[];
  /** The attention shape the tap found. */
  readonly attentionShape: AttentionGraphShape | undefined;
  readonly unavailableReason: string | undefined;
  /** Name and element type of the decoder's main input (`inputs_embeds` or `input_ids`). */
  readonly mainInput: string;
  readonly mainInputType: string;
  readonly pastType: string;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly layers: number;
  /** Rank of `position_ids` (3 = M-RoPE [3,B,S], 2 = [B,S]); 0 when the decoder takes none. */
  readonly positionRank: number;
}

/** How to load a decoder graph. */
export interface DecoderGraphSettings extends OrtSettings {
  /** Layers to tap (default all). */
  readonly attentionLayers?: AttentionLayerSetting;
  /** Add attention taps (default true); false loads the graph unchanged, e.g. for plain decoding. */
  readonly tapAttention?: boolean;
}

/** Fallbacks for shapes the graph leaves symbolic. */
export interface DecoderShapeHints {
  readonly numKeyValueHeads: number;
  readonly headDim: number;
}

/**
 * Load a decoder in the onnx-community contract (`inputs_embeds` or `input_ids`,
 * `attention_mask`, `position_ids`, `past_key_values.{i}.key/value` -> `logits`,
 * `present.{i}.key/value`), check its external data files, and add attention taps when its
 * attention shape is supported. The edited graph is built in memory; weight files are read in place.
 */
export async function loadDecoderGraph(path: string, label: string, modelDir: string, hints: DecoderShapeHints, settings: DecoderGraphSettings): Promise<DecoderGraph> {
  const bytes = new Uint8Array(await readFile(path));
  let info;
  try {
    info = parseOnnxModel(bytes);
  } catch (error) {
    throw new ModelFilesError(`${label} is not a readable ONNX model: ${(error as Error).message}`, { hint: 'Download the file again.', cause: error });
  }
  const missing: string[] = [];
  for (const file of info.externalDataFiles) {
    try {
      await stat(join(modelDir, file));
    } catch {
      missing.push(`onnx/${file}`);
    }
  }
  if (missing.length)
    throw new ModelFilesError(`${label} keeps its weights in ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} missing.`, {
      missing,
      hint: 'Download the .onnx_data file(s) next to the .onnx file.',
    });
  const names = new Set(info.inputs.map((i) => i.name));
  const mainInput = names.has('inputs_embeds') ? 'inputs_embeds' : names.has('input_ids') ? 'input_ids' : undefined;
  const lacking = [mainInput ? undefined : 'inputs_embeds (or input_ids)', ...['attention_mask', 'past_key_values.0.key'].filter((n) => !names.has(n))].filter(Boolean);
  if (lacking.length)
    throw new ModelConfigError(`${label} lacks the inputs ${lacking.join(', ')}.`, {
      hint: 'Expected the onnx-community decoder contract: inputs_embeds or input_ids, attention_mask, position_ids, past_key_values.{i}.key/value -> logits, present.{i}.key/value.',
    });
  const layers = info.inputs.filter((i) => /^past_key_values\.\d+\.key$/.test(i.name)).length;
  const attentionLayers = resolveAttentionLayers(settings.attentionLayers, layers);
  const sites =
    settings.tapAttention === false
      ? ({ supported: false, reason: 'the model was loaded without attention taps (tapAttention: false).' } as const)
      : findAttentionSites(info, layers);
  const tapped = sites.supported ? tapAttention(info, sites, attentionLayers) : undefined;
  const session = await createOrtSession(tapped ? tapped.bytes : path, label, modelDir, settings);
  const specs = inputSpecs(session);
  const past = specs.get('past_key_values.0.key')!;
  return {
    session,
    tapOutputs: tapped?.outputs,
    attentionLayers,
    attentionShape: sites.supported ? sites.shape : undefined,
    unavailableReason: sites.supported ? undefined : sites.reason,
    mainInput: mainInput!,
    mainInputType: specs.get(mainInput!)!.type,
    pastType: past.type,
    kvHeads: typeof past.shape[1] === 'number' ? past.shape[1] : hints.numKeyValueHeads,
    headDim: typeof past.shape[3] === 'number' ? past.shape[3] : hints.headDim,
    layers,
    positionRank: specs.get('position_ids')?.shape.length ?? 0,
  };
}
