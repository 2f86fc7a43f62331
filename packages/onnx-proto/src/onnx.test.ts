import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { appendToGraph, editGraph, editNode, encodeExternalTensor, encodeModel, encodeNode, encodeValueInfo, float16Tensor, floatTensor, nodeField, OnnxDataType, parseOnnxModel, replaceNodes } from './onnx.js';
import { ProtoWriter, fieldInt64, readFields } from './wire.js';

// scores = Softmax(x @ W, axis -1); y = scores @ V
function attentionLikeModel(): Uint8Array {
  return encodeModel({
    graph: {
      nodes: [
        { name: 'qk', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['s'] },
        { name: 'softmax', opType: 'Softmax', inputs: ['s'], outputs: ['p'], attributes: [{ name: 'axis', int: -1 }] },
        { name: 'pv', opType: 'MatMul', inputs: ['p', 'V'], outputs: ['y'] },
      ],
      initializers: [floatTensor('W', [1, 0, 0, 1, 2, -1], [2, 3]), floatTensor('V', [1, 2, 3, 4, 5, 6], [3, 2])],
      inputs: [encodeValueInfo('x', OnnxDataType.FLOAT, ['n', 2])],
      outputs: [encodeValueInfo('y', OnnxDataType.FLOAT, ['n', 2])],
    },
  });
}

describe('protobuf wire format', () => {
  it('round-trips varints including negative int64', () => {
    const bytes = new ProtoWriter().int(1, 300).int(2, -1).int(3, 2 ** 40).string(4, 'héllo').finish();
    const fields = [...readFields(bytes)];
    expect(fields.map((f) => f.field)).toEqual([1, 2, 3, 4]);
    expect(fields[0]!.value).toBe(300);
    expect(fieldInt64(bytes, fields[1]!)).toBe(-1);
    expect(fields[2]!.value).toBe(2 ** 40);
    expect(new TextDecoder().decode(bytes.subarray(fields[3]!.start, fields[3]!.end))).toBe('héllo');
  });

  it('rejects truncated messages', () => {
    const bytes = new ProtoWriter().string(1, 'abcdef').finish();
    expect(() => [...readFields(bytes.subarray(0, 4))]).toThrow(RangeError);
  });
});

describe('ONNX models', () => {
  it('encodes a model that onnxruntime runs, and parses it back', async () => {
    const bytes = attentionLikeModel();
    const info = parseOnnxModel(bytes);
    expect(info.opsets.get('')).toBe(17);
    expect(info.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Softmax', 'MatMul']);
    expect(info.nodes[1]!.attributes.get('axis')?.int).toBe(-1);
    expect(info.inputs[0]).toEqual({ name: 'x', elemType: OnnxDataType.FLOAT, dims: ['n', 2] });
    expect([...info.initializerNames]).toEqual(['W', 'V']);
    expect(info.externalDataFiles.size).toBe(0);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0]), [1, 2]) });
    const s = [1, 0, 0];
    const z = s.reduce((a, v) => a + Math.exp(v), 0);
    const p = s.map((v) => Math.exp(v) / z);
    expect((out['y']!.data as Float32Array)[0]).toBeCloseTo(p[0]! * 1 + p[1]! * 3 + p[2]! * 5, 5);
    await session.release();
  });

  it('appends nodes and outputs, leaving the original graph intact', async () => {
    const model = parseOnnxModel(attentionLikeModel());
    const bytes = appendToGraph(model, {
      nodes: [encodeNode({ name: 'probe', opType: 'Identity', inputs: ['p'], outputs: ['probe_out'] })],
      outputs: [encodeValueInfo('probe_out', OnnxDataType.FLOAT)],
    });
    const again = parseOnnxModel(bytes);
    expect(again.nodes.map((n) => n.name)).toEqual(['qk', 'softmax', 'pv', 'probe']);
    expect(again.outputs.map((o) => o.name)).toEqual(['y', 'probe_out']);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0]), [1, 2]) });
    const probs = Array.from(out['probe_out']!.data as Float32Array);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    await session.release();
  });

  it('replaces nodes in place with an equivalent subgraph', async () => {
    const model = parseOnnxModel(attentionLikeModel());
    const bytes = replaceNodes(model, (n) =>
      n.opType === 'Softmax'
        ? [
            { name: 'log', opType: 'LogSoftmax', inputs: n.inputs, outputs: ['lp'], attributes: [{ name: 'axis', int: -1 }] },
            { name: 'exp', opType: 'Exp', inputs: ['lp'], outputs: n.outputs },
          ]
        : undefined,
    );
    const again = parseOnnxModel(bytes);
    expect(again.nodes.map((n) => n.opType)).toEqual(['MatMul', 'LogSoftmax', 'Exp', 'MatMul']);
    const run = async (b: Uint8Array) => {
      const session = await ort.InferenceSession.create(b);
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0.3, -2]), [1, 2]) });
      await session.release();
      return Array.from(out['y']!.data as Float32Array);
    };
    const [a, b] = [await run(attentionLikeModel()), await run(bytes)];
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
  });

  it('edits nodes, inputs, outputs and additions in one pass (editGraph, editNode renameInputs)', async () => {
    const model = parseOnnxModel(attentionLikeModel());
    // y = (p * 2) @ V: a Mul inserted before the last MatMul, its input renamed; y redeclared
    const bytes = editGraph(model, {
      nodes: (node, raw) =>
        node.name === 'pv'
          ? new Uint8Array([
              ...nodeField(encodeNode({ name: 'double', opType: 'Mul', inputs: ['p', 'two'], outputs: ['p2'] })),
              ...nodeField(editNode(raw, { renameInputs: new Map([[0, 'p2']]) })),
            ])
          : undefined,
      outputs: (o) => (o.name === 'y' ? encodeValueInfo('y', OnnxDataType.FLOAT, ['rows', 2]) : undefined),
      append: { initializers: [floatTensor('two', [2], [])] },
    });
    const again = parseOnnxModel(bytes);
    expect(again.nodes.map((n) => n.name)).toEqual(['qk', 'softmax', 'double', 'pv']);
    expect(again.nodes[3]!.inputs).toEqual(['p2', 'V']);
    expect(again.outputs).toEqual([{ name: 'y', elemType: OnnxDataType.FLOAT, dims: ['rows', 2] }]);
    const run = async (b: Uint8Array) => {
      const session = await ort.InferenceSession.create(b);
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0.3, -2]), [1, 2]) });
      await session.release();
      return Array.from(out['y']!.data as Float32Array);
    };
    const [a, b] = [await run(attentionLikeModel()), await run(bytes)];
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(2 * v, 5));
  });

  it('writes float16 initializers and external-data references', () => {
    const half = float16Tensor('h', [1, -2], [2]);
    expect(Buffer.from(half).includes(Buffer.from([0x00, 0x3c, 0x00, 0xc0]))).toBe(true);
    const model = parseOnnxModel(
      encodeModel({
        graph: {
          nodes: [{ name: 'add', opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
          initializers: [encodeExternalTensor('w', OnnxDataType.FLOAT, [2], 'model.onnx_data', 4096, 8)],
          inputs: [encodeValueInfo('x', OnnxDataType.FLOAT, [2])],
          outputs: [encodeValueInfo('y', OnnxDataType.FLOAT, [2])],
        },
      }),
    );
    expect(model.externalDataFiles).toEqual(new Set(['model.onnx_data']));
    expect(model.initializerNames).toEqual(new Set(['w']));
  });
});
