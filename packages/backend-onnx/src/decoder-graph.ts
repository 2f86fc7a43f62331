import { basename, dirname } from 'node:path';
import { loadDecoder } from '@icot/model';
import { nodeFileSource } from '@icot/model/node';
import type { DecoderGraph, DecoderPreparation, DecoderShapeHints } from '@icot/onnx-decoding';
import { nodeSessionFactory, type OrtSettings } from './ort-io.js';

/** How to load a decoder graph. */
export interface DecoderGraphSettings extends OrtSettings, DecoderPreparation {}

/**
 * Load one decoder file in the onnx-community contract on onnxruntime-node (`@icot/model`'s
 * `loadDecoder` over the file's folder): attention taps when its attention shape is supported,
 * logits limited to the last position (with ICOT_DEBUG=1 a decoder that keeps every row says why
 * on stderr), external data files checked and read in place.
 */
export async function loadDecoderGraph(path: string, label: string, hints: DecoderShapeHints, settings: DecoderGraphSettings): Promise<DecoderGraph> {
  const folder = dirname(path);
  return loadDecoder({
    files: nodeFileSource(folder),
    sessions: nodeSessionFactory(folder, settings),
    file: basename(path),
    label,
    hints,
    ...settings,
    ...(process.env['ICOT_DEBUG'] === '1' ? { debug: (message: string) => void process.stderr.write(`${message}\n`) } : {}),
  });
}
