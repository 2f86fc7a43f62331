import { chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendToGraph, OnnxDataType, parseOnnxModel, ProtoWriter, replaceNodes } from '@icot/onnx-proto';
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
