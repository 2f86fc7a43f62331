import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFilesError } from '@icot/core';
import { describeDecoder, prepareDecoder, type DecoderGraph, type DecoderPreparation, type DecoderShapeHints } from '@icot/onnx-decoding';
import { createOrtSession, createOrtSessionWithWeights, type OrtSettings } from './ort-io.js';

/** How to load a decoder graph. */
export interface DecoderGraphSettings extends OrtSettings, DecoderPreparation {}

/**
 * Load a decoder in the onnx-community contract, check its external data files, add attention
 * taps when its attention shape is supported and limit its logits to the last position (see
 * `prepareDecoder`; with ICOT_DEBUG=1 a decoder that keeps every row says why on stderr). The
 * edited graph is built in memory; weight files are read in place and never changed.
 */
export async function loadDecoderGraph(path: string, label: string, modelDir: string, hints: DecoderShapeHints, settings: DecoderGraphSettings): Promise<DecoderGraph> {
  const prepared = prepareDecoder(new Uint8Array(await readFile(path)), label, settings);
  const missing: string[] = [];
  for (const file of prepared.info.externalDataFiles) {
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
  // Full logits are correct but cost one row per input position: say why when ICOT_DEBUG=1.
  if (prepared.logits.rows === 'all' && process.env['ICOT_DEBUG'] === '1') process.stderr.write(`icot: ${prepared.logits.reason}\n`);
  const session = prepared.edited
    ? await createOrtSessionWithWeights(prepared.bytes, label, modelDir, prepared.info.externalDataFiles, settings)
    : await createOrtSession(path, label, modelDir, settings);
  return describeDecoder(prepared, session, hints);
}
