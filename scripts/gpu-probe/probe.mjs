// The GPU probe: each tiny decoder that make-models.mjs wrote (plain and tapped as icot taps it) runs
// on the CPU and on the execution providers named on the command line (`node probe.mjs webgpu cuda`);
// one JSON line per decoder, variant and provider: the largest difference from the CPU's logits and
// tap outputs (and each tap row's sum), or the provider's error. Plain onnxruntime-node, no icot code.
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
for (const shape of readdirSync(join(here, 'models'))) {
  const spec = JSON.parse(readFileSync(join(here, 'models', shape, 'spec.json'), 'utf8'));
  const feeds = inputsFor(spec);
  for (const variant of ['plain', 'tapped']) {
    const bytes = readFileSync(join(here, 'models', shape, `${variant}.onnx`));
    const fetch = variant === 'tapped' ? ['logits', ...spec.taps] : ['logits'];
    const reference = await (await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] })).run(feeds, fetch);
    for (const ep of providers) {
      const row = { shape, variant, ep };
      try {
        const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
        const out = await session.run(feeds, fetch);
        row.logitsMaxDiff = maxDiff(out.logits.data, reference.logits.data);
        if (variant === 'tapped') row.tapMaxDiff = Math.max(...spec.taps.map((t) => maxDiff(out[t].data, reference[t].data)));
        if (variant === 'tapped') row.tapRowSums = spec.taps.map((t) => Array.from(out[t].data).reduce((a, b) => a + b, 0).toFixed(4));
      } catch (error) {
        row.error = String(error.message).slice(0, 300);
      }
      console.log(JSON.stringify(row));
    }
  }
}
