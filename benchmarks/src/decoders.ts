import { createSignalTrigger, generateICoT, type InsertionDecoderV2, type RgbImage, type VisionLanguageModelV2 } from '@icot/core';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import { createKvInsertionDecoder } from '@icot/decoder-kv';
import { createAdsSelector } from '@icot/selector-ads';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/**
 * Input insertion vs kv-copy vs kv-rebind on one model: time per insertion (selection + the
 * decoder's work) and end-to-end ICoT time, for several k, in rotating rounds.
 */
export async function compareDecoders(label: string, model: VisionLanguageModelV2, rgb: RgbImage, promptText: string, ks: readonly number[], rounds: number): Promise<SectionResult> {
  const image = await model.encodeImage(rgb);
  const decoders: [string, () => InsertionDecoderV2][] = [
    ['input', () => createInputInsertionDecoder()],
    ['kv-copy', () => createKvInsertionDecoder({ mode: 'copy' })],
    ['kv-rebind', () => createKvInsertionDecoder({ mode: 'rebind' })],
  ];
  const measured: SectionResult['rows'][number][] = [];
  const rows: string[][] = [['k', 'decoder', 'ms/insertion', 'vs input', 'ms/answer', 'vs input']];
  for (const k of ks) {
    const run = async (make: () => InsertionDecoderV2) => {
      const result = await generateICoT({
        model,
        prompt: { text: promptText, images: [image] },
        selector: createAdsSelector(),
        decoder: make(),
        trigger: createSignalTrigger({ signal: { tokenIds: Array.from({ length: model.vocabSize }, (_, i) => i) }, every: 8 }),
        k,
        maxInsertions: 3,
        maxNewTokens: 32,
      });
      return { insertion: result.timings.insertionMs / Math.max(1, result.insertions.length), total: result.timings.totalMs };
    };
    for (const [, make] of decoders) await run(make);
    const samples = decoders.map(() => ({ insertion: [] as number[], total: [] as number[] }));
    for (let r = 0; r < rounds; r++)
      for (let j = 0; j < decoders.length; j++) {
        const index = (r + j) % decoders.length;
        const t = await run(decoders[index]![1]);
        samples[index]!.insertion.push(t.insertion);
        samples[index]!.total.push(t.total);
      }
    const baseInsertion = median(samples[0]!.insertion);
    const baseTotal = median(samples[0]!.total);
    decoders.forEach(([name], i) => {
      const ins = median(samples[i]!.insertion);
      const tot = median(samples[i]!.total);
      rows.push([String(k), name, ins.toFixed(2), (ins / baseInsertion).toFixed(3), tot.toFixed(1), (tot / baseTotal).toFixed(3)]);
      measured.push({ name: `k${k}-${name}-ms-per-insertion`, value: ins, unit: 'ms' }, { name: `k${k}-${name}-vs-input-per-answer`, value: tot / baseTotal, unit: 'ratio' });
    });
  }
  return { text: [`${label}: 3 insertions, 32 new tokens, medians of ${rounds} rotating rounds`, table(rows)].join('\n'), rows: measured };
}
