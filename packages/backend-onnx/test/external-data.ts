import { readFile, writeFile, chmod } from 'node:fs/promises';
import { appendToGraph, OnnxDataType, parseOnnxModel } from '../src/proto/onnx.js';
import { ProtoWriter } from '../src/proto/wire.js';

/** Add to the graph at `path` an initializer whose data lives in the external file `location`. */
export async function buildExternalDataReference(path: string, location: string): Promise<void> {
  const model = parseOnnxModel(new Uint8Array(await readFile(path)));
  const tensor = new ProtoWriter()
    .int(1, 4)
    .int(2, OnnxDataType.FLOAT)
    .string(8, 'external_weight')
    .message(13, (e) => e.string(1, 'location').string(2, location))
    .message(13, (e) => e.string(1, 'offset').string(2, '0'))
    .message(13, (e) => e.string(1, 'length').string(2, '16'))
    .int(14, 1)
    .finish();
  await chmod(path, 0o644);
  await writeFile(path, appendToGraph(model, { initializers: [tensor] }));
}
