import { ModelFilesError } from '@icot/core';
import { describeDecoder, prepareDecoder, type DecoderGraph, type DecoderPreparation, type DecoderShapeHints, type PreparedDecoder } from '@icot/onnx-decoding';
import { siblingPath, type FileSource } from './files.js';
import type { SessionFactory } from './sessions.js';

/** What {@link loadDecoder} needs. */
export interface LoadDecoderOptions extends DecoderPreparation {
  readonly files: FileSource;
  readonly sessions: SessionFactory;
  /** The decoder's file, relative to the model root. */
  readonly file: string;
  /** Graph name (default `decoder_model_merged`). */
  readonly name?: string;
  /** How the file is named in messages (default `file`). */
  readonly label?: string;
  /** Fallbacks for cache shapes the graph leaves symbolic. */
  readonly hints: DecoderShapeHints;
  /** A decoder the caller already prepared (e.g. the tapped copy transformers.js loaded): not read again. */
  readonly prepared?: PreparedDecoder;
  /** Where diagnostics go (why a decoder keeps every row of logits), e.g. stderr under ICOT_DEBUG=1. */
  readonly debug?: (message: string) => void;
}

/**
 * Load a decoder in the onnx-community contract: read it, add attention taps when its attention
 * shape is supported (fused attention tapped as the session factory's execution providers need,
 * see `SessionFactory.fusedAttentionTap`) and limit its logits to the last position (`prepareDecoder`; the edited
 * graph is built in memory, weight files are never changed), check its external data files, and
 * create its session through the factory (from the edited bytes, or the file when unedited).
 */
export async function loadDecoder(options: LoadDecoderOptions): Promise<DecoderGraph> {
  const { files, sessions, file } = options;
  const label = options.label ?? file;
  const fusedAttentionTap = options.fusedAttentionTap ?? sessions.fusedAttentionTap;
  const prepared = options.prepared ?? prepareDecoder(await files.readBytes(file), label, { ...options, ...(fusedAttentionTap ? { fusedAttentionTap } : {}) });
  const missing: string[] = [];
  for (const data of prepared.info.externalDataFiles) if (!(await files.exists(siblingPath(file, data)))) missing.push(siblingPath(file, data));
  if (missing.length)
    throw new ModelFilesError(`${label} keeps its weights in ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} missing.`, {
      missing,
      hint: 'Download the .onnx_data file(s) next to the .onnx file.',
    });
  // Full logits are correct but cost one row per input position: say why.
  if (prepared.logits.rows === 'all') options.debug?.(`icot: ${prepared.logits.reason}`);
  const session = await sessions.createSession({
    name: options.name ?? 'decoder_model_merged',
    file,
    ...(prepared.edited ? { bytes: prepared.bytes } : {}),
    externalDataFiles: [...prepared.info.externalDataFiles],
    label,
  });
  return describeDecoder(prepared, session, options.hints);
}
