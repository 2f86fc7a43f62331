import ort from 'onnxruntime-node';
import { createRandom } from '@icot/core';
import { normal, type DecoderSpec } from '@icot/testing';

/** Feeds for a decoder step of `seq` new tokens after `past` cached ones (random embeddings). */
export function decoderFeeds(spec: DecoderSpec, seq: number, pastTensors?: Record<string, ort.Tensor>, past = 0, seed = 1): Record<string, ort.Tensor> {
  const headDim = spec.hidden / spec.heads;
  const total = past + seq;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', normal(createRandom(seed), seq * spec.hidden, 1), [1, seq, spec.hidden]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    position_ids: spec.mropeSection
      ? new ort.Tensor('int64', BigInt64Array.from({ length: 3 * seq }, (_, i) => BigInt(past + (i % seq))), [3, 1, seq])
      : new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(past + i)), [1, seq]),
  };
  for (let l = 0; l < spec.layers; l++)
    for (const kind of ['key', 'value'])
      feeds[`past_key_values.${l}.${kind}`] = pastTensors?.[`present.${l}.${kind}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, spec.kvHeads, 0, headDim]);
  return feeds;
}
