import { cp, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@icot/testing';
import { parseOnnxModel, replaceNodes } from '../src/proto/onnx.js';

/** A writable copy of the tiny Qwen2-VL fixture in a temporary folder. */
export async function copyFixture(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'icot-onnx-'));
  await cp(fixturePath('tiny-qwen2-vl'), dir, { recursive: true });
  await chmod(dir, 0o755);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Rewrite the copy's decoder so its attention has no Softmax node (Softmax(x) = Exp(LogSoftmax(x))):
 * the same function, but a graph shape the tap does not read.
 */
export async function removeSoftmax(dir: string): Promise<void> {
  const path = join(dir, 'onnx', 'decoder_model_merged.onnx');
  const model = parseOnnxModel(new Uint8Array(await readFile(path)));
  const bytes = replaceNodes(model, (node) =>
    node.opType === 'Softmax'
      ? [
          { name: `${node.name}/log`, opType: 'LogSoftmax', inputs: node.inputs, outputs: [`${node.outputs[0]}/log`], attributes: [{ name: 'axis', int: -1 }] },
          { name: `${node.name}/exp`, opType: 'Exp', inputs: [`${node.outputs[0]}/log`], outputs: node.outputs },
        ]
      : undefined,
  );
  await chmod(path, 0o644);
  await writeFile(path, bytes);
}
