import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { fixturePath } from '@icot/testing';
import { appendToGraph, encodeNode, encodeValueInfo, OnnxDataType, parseOnnxModel, replaceNodes } from './onnx.js';
import { ProtoWriter, fieldInt64, readFields } from './wire.js';

const decoderBytes = new Uint8Array(readFileSync(fixturePath('tiny-qwen2-vl', 'onnx/decoder_model_merged.onnx')));

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

describe('parseOnnxModel', () => {
  it('reads the fixture decoder structure without decoding weights', () => {
    const model = parseOnnxModel(decoderBytes);
    expect(model.opsets.get('')).toBe(17);
    expect(model.inputs.map((i) => i.name)).toEqual(['inputs_embeds', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect(model.inputs[3]!.dims).toEqual(['batch_size', 2, 'past_sequence_length', 16]);
    expect(model.outputs[0]!.name).toBe('logits');
    expect(model.nodes.filter((n) => n.opType === 'Softmax')).toHaveLength(2);
    expect(model.externalDataFiles.size).toBe(0);
  });

  it('appends nodes and outputs that onnxruntime runs, leaving the original graph intact', async () => {
    const model = parseOnnxModel(decoderBytes);
    const bytes = appendToGraph(model, {
      nodes: [encodeNode({ name: 'probe', opType: 'Identity', inputs: ['attention_mask'], outputs: ['probe_out'] })],
      outputs: [encodeValueInfo('probe_out', OnnxDataType.INT64, ['batch_size', 'total_sequence_length'])],
    });
    const again = parseOnnxModel(bytes);
    expect(again.nodes).toHaveLength(model.nodes.length + 1);
    expect(again.nodes.slice(0, -1).map((n) => n.name)).toEqual(model.nodes.map((n) => n.name));
    expect(again.outputs.at(-1)!.name).toBe('probe_out');
    const session = await ort.InferenceSession.create(bytes);
    expect(session.outputNames).toContain('probe_out');
    await session.release();
  });

  it('replaces nodes in place', () => {
    const model = parseOnnxModel(decoderBytes);
    const bytes = replaceNodes(model, (n) => (n.opType === 'Softmax' ? [{ name: n.name, opType: 'Identity', inputs: n.inputs, outputs: n.outputs }] : undefined));
    const again = parseOnnxModel(bytes);
    expect(again.nodes.filter((n) => n.opType === 'Softmax')).toHaveLength(0);
    expect(again.nodes).toHaveLength(model.nodes.length);
  });
});
