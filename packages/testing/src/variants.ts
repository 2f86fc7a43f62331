import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendToGraph, OnnxDataType, parseOnnxModel, ProtoWriter, readFields, replaceNodes } from '@icot/onnx-proto';
import { fixturePath, type FixtureName } from './fixtures.js';

/** A writable copy of a model folder in a temporary directory. */
export interface TemporaryModel {
  readonly dir: string;
  /** Delete the copy. */
  cleanup(): Promise<void>;
}

/** Copy a fixture (or any model folder) to a fresh temporary folder whose files are writable. */
export async function copyModel(source: FixtureName | string): Promise<TemporaryModel> {
  const from = source === 'tiny-qwen2-vl' || source === 'tiny-chameleon' ? fixturePath(source) : source;
  const dir = await mkdtemp(join(tmpdir(), 'icot-model-'));
  await cp(from, dir, { recursive: true });
  const { readdir, stat } = await import('node:fs/promises');
  const makeWritable = async (path: string): Promise<void> => {
    const info = await stat(path);
    await chmod(path, info.isDirectory() ? 0o755 : 0o644);
    if (info.isDirectory()) for (const entry of await readdir(path)) await makeWritable(join(path, entry));
  };
  await makeWritable(dir);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Rewrite a decoder graph so its attention has no Softmax node: Softmax(x) becomes
 * Exp(LogSoftmax(x)). The model computes the same function, in a graph shape the attention tap
 * does not read (as for decoders whose attention is fused or otherwise hidden).
 */
export async function replaceSoftmaxWithExpLogSoftmax(onnxPath: string): Promise<void> {
  const model = parseOnnxModel(new Uint8Array(await readFile(onnxPath)));
  const bytes = replaceNodes(model, (node) =>
    node.opType === 'Softmax'
      ? [
          { name: `${node.name}/log`, opType: 'LogSoftmax', inputs: node.inputs, outputs: [`${node.outputs[0]}/log`], attributes: [{ name: 'axis', int: -1 }] },
          { name: `${node.name}/exp`, opType: 'Exp', inputs: [`${node.outputs[0]}/log`], outputs: node.outputs },
        ]
      : undefined,
  );
  await writeFile(onnxPath, bytes);
}

/** Add to the graph at `onnxPath` an unused initializer whose data lives in the external file `location`. */
export async function addExternalDataReference(onnxPath: string, location: string): Promise<void> {
  const model = parseOnnxModel(new Uint8Array(await readFile(onnxPath)));
  const tensor = new ProtoWriter()
    .int(1, 4)
    .int(2, OnnxDataType.FLOAT)
    .string(8, 'icot_test/external_weight')
    .message(13, (e) => e.string(1, 'location').string(2, location))
    .message(13, (e) => e.string(1, 'offset').string(2, '0'))
    .message(13, (e) => e.string(1, 'length').string(2, '16'))
    .int(14, 1)
    .finish();
  await writeFile(onnxPath, appendToGraph(model, { initializers: [tensor] }));
}

/**
 * Move the weights of a graph into an external data file, as large exports store them: every
 * Constant node whose value has at least `minBytes` of raw data becomes an initializer whose
 * data lives in `dataFile` (next to the .onnx file). Returns the number of bytes moved.
 */
export async function moveWeightsToExternalData(onnxPath: string, dataFile: string, minBytes = 1024): Promise<number> {
  const bytes = new Uint8Array(await readFile(onnxPath));
  const model = parseOnnxModel(bytes);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const initializers: Uint8Array[] = [];
  const moved = new Set<number>();
  for (const node of model.nodes) {
    const value = node.opType === 'Constant' ? node.attributes.get('value')?.tensor : undefined;
    if (!value) continue;
    let raw: Uint8Array | undefined;
    const kept = new ProtoWriter();
    for (const f of readFields(bytes, value.start, value.end)) {
      if (f.field === 9) raw = bytes.subarray(f.start, f.end);
      else if (f.field !== 8) kept.raw(bytes.subarray(f.tagStart, f.end));
    }
    if (!raw || raw.length < minBytes) continue;
    initializers.push(
      kept
        .string(8, node.outputs[0]!)
        .message(13, (e) => e.string(1, 'location').string(2, dataFile))
        .message(13, (e) => e.string(1, 'offset').string(2, String(offset)))
        .message(13, (e) => e.string(1, 'length').string(2, String(raw!.length)))
        .int(14, 1)
        .finish(),
    );
    chunks.push(raw);
    offset += raw.length;
    moved.add(node.index);
  }
  const withoutConstants = parseOnnxModel(replaceNodes(model, (node) => (moved.has(node.index) ? [] : undefined)));
  await writeFile(onnxPath, appendToGraph(withoutConstants, { initializers }));
  await writeFile(join(onnxPath, '..', dataFile), Buffer.concat(chunks));
  return offset;
}
