// The GPU probe: each tiny decoder that make-models.mjs wrote (plain, tapped as icot taps it on the
// CPU, and - fused attention - with the taps recomputed from plain operators) runs a prefill and one
// decode step on the execution providers named on the command line (`node probe.mjs webgpu cuda`;
// the recomputed graphs on the CPU too); one JSON line per decoder, variant and provider: the
// largest difference from the CPU's logits and CPU-tapped rows (and each tap row's sum), the mean
// time of a decode step (20 runs), or the provider's error. Plain onnxruntime-node, no icot code.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
const here = dirname(fileURLToPath(import.meta.url));
const providers = process.argv.slice(2);
const S = 9;
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
function inputsFor(spec) {
  const feeds = {};
  for (const input of spec.inputs) {
    const dims = input.dims.map((d) => (typeof d === 'number' ? d : d === 'batch_size' ? 1 : d === 'past_sequence_length' ? 0 : S));
    const size = dims.reduce((a, b) => a * b, 1);
    if (input.name === 'inputs_embeds') feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: size }, rand), dims);
    else if (input.name === 'attention_mask') feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, () => 1n), dims);
    else if (input.name === 'position_ids') feeds[input.name] = new ort.Tensor('int64', BigInt64Array.from({ length: size }, (_, i) => BigInt(i % S)), dims);
    else feeds[input.name] = new ort.Tensor('float32', new Float32Array(size), dims);
  }
  return feeds;
}
const maxDiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
/** The feeds of a decode step of one token after `out` (a prefill's outputs, presents included). */
function decodeFeeds(spec, out) {
  const feeds = {};
  for (const input of spec.inputs) {
    if (input.name.startsWith('past_key_values.')) feeds[input.name] = out[input.name.replace('past_key_values.', 'present.')];
    else if (input.name === 'inputs_embeds') feeds[input.name] = new ort.Tensor('float32', Float32Array.from({ length: input.dims[2] }, rand), [1, 1, input.dims[2]]);
    else if (input.name === 'attention_mask') feeds[input.name] = new ort.Tensor('int64', new BigInt64Array(S + 1).fill(1n), [1, S + 1]);
    else if (input.name === 'position_ids') feeds[input.name] = new ort.Tensor('int64', new BigInt64Array(input.dims.length === 3 ? 3 : 1).fill(BigInt(S)), input.dims.length === 3 ? [3, 1, 1] : [1, 1]);
  }
  return feeds;
}
const presents = (spec) => spec.inputs.filter((i) => i.name.startsWith('past_key_values.')).map((i) => i.name.replace('past_key_values.', 'present.'));
for (const shape of readdirSync(join(here, 'models'))) {
  const spec = JSON.parse(readFileSync(join(here, 'models', shape, 'spec.json'), 'utf8'));
  const feeds = inputsFor(spec);
  const fetchOf = (variant) => [...(variant === 'plain' ? ['logits'] : ['logits', ...spec.taps]), ...presents(spec)];
  // the CPU reference of every variant: the CPU-tapped graph's rows (qk_output on fused attention), a prefill and one decode step
  const cpu = await ort.InferenceSession.create(readFileSync(join(here, 'models', shape, 'tapped.onnx')), { executionProviders: ['cpu'] });
  const reference = await cpu.run(feeds, fetchOf('tapped'));
  const step = decodeFeeds(spec, reference);
  const referenceStep = await cpu.run(step, fetchOf('tapped'));
  for (const variant of ['plain', 'tapped', 'recomputed']) {
    let bytes;
    try {
      bytes = readFileSync(join(here, 'models', shape, `${variant}.onnx`));
    } catch {
      continue; // no recomputed graph for plain Softmax attention
    }
    for (const ep of ['cpu', ...providers]) {
      if (ep === 'cpu' && variant !== 'recomputed') continue;
      const row = { shape, variant, ep };
      try {
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
        const out = await session.run(feeds, fetchOf(variant));
        const next = await session.run(step, fetchOf(variant)); // the same decode step, over the CPU's cache
        row.logitsMaxDiff = Math.max(maxDiff(out.logits.data, reference.logits.data), maxDiff(next.logits.data, referenceStep.logits.data));
        if (variant !== 'plain') {
          row.tapMaxDiff = Math.max(...spec.taps.flatMap((t) => [maxDiff(out[t].data, reference[t].data), maxDiff(next[t].data, referenceStep[t].data)]));
          row.tapRowSums = spec.taps.map((t) => Array.from(next[t].data).reduce((a, b) => a + b, 0).toFixed(4));
        }
        const started = performance.now();
        for (let i = 0; i < 20; i++) await session.run(step, fetchOf(variant));
        row.decodeStepMs = +((performance.now() - started) / 20).toFixed(3);
      } catch (error) {
        row.error = String(error.message).slice(0, 300);
      }
      console.log(JSON.stringify(row));
    }
  }
}
