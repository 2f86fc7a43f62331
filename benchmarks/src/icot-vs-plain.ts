import { createSignalTrigger, generateICoT, type ICoTResult, type PromptInput, type VisionLanguageModelV2 } from '@icot/core';
import { createAdsSelector } from '@icot/selector-ads';
import { createInputInsertionDecoder } from '@icot/decoder-input';
import type { SectionResult } from './report.js';
import { median, table } from './stats.js';

/** Settings of one ICoT-vs-plain comparison. */
export interface IcotVsPlainSettings {
  readonly label: string;
  readonly model: VisionLanguageModelV2;
  readonly prompt: PromptInput;
  readonly signalTokenIds: readonly number[];
  readonly maxNewTokens: number;
  readonly rounds: number;
}

interface TimedRun {
  readonly result: ICoTResult;
  /** Wall time of each single-token step (sampling + forward pass), by KV-cache length after it. */
  readonly steps: Map<number, number>;
}

/**
 * Per-token decode time of plain decoding and of ICoT on the same model and prompt, measured in
 * alternating rounds (so drift hits both alike). A decode step costs more as the KV cache grows,
 * and ICoT's cache is longer by the inserted tokens, so steps are also compared at equal cache
 * length: that ratio isolates any overhead of ICoT beyond its inserted tokens.
 */
export async function icotVsPlain(settings: IcotVsPlainSettings): Promise<SectionResult> {
  const { model, prompt } = settings;
  const run = async (maxInsertions: number): Promise<TimedRun> => {
    const steps = new Map<number, number>();
    let last = 0;
    let lastStep = -1;
    let cache = 0;
    let promptTokens = 0;
    let inserted = 0;
    let insertedAtLast = false;
    const result = await generateICoT({
      model,
      prompt,
      selector: createAdsSelector(),
      decoder: createInputInsertionDecoder(),
      trigger: createSignalTrigger({ signal: { tokenIds: settings.signalTokenIds }, every: 2 }),
      maxInsertions,
      maxNewTokens: settings.maxNewTokens,
      onEvent: (event) => {
        const now = performance.now();
        if (event.type === 'start') promptTokens = event.promptTokens;
        else if (event.type === 'insertion') {
          inserted += event.insertion.insertedTokens;
          insertedAtLast = true;
        } else if (event.type === 'token') {
          if (lastStep >= 0 && !insertedAtLast) steps.set(cache, now - last);
          insertedAtLast = false;
          cache = promptTokens + inserted + event.step + 1;
          lastStep = event.step;
          last = now;
        }
      },
    });
    return { result, steps };
  };
  await run(0);
  await run(3);
  const plain: TimedRun[] = [];
  const icot: TimedRun[] = [];
  for (let r = 0; r < settings.rounds; r++) {
    plain.push(await run(0));
    icot.push(await run(3));
  }
  const perToken = (rs: TimedRun[]) => median(rs.map((r) => r.result.timings.perTokenMs));
  const total = (rs: TimedRun[]) => median(rs.map((r) => r.result.timings.totalMs));
  // steps at cache lengths both runs went through
  const lengths = [...plain[0]!.steps.keys()].filter((l) => icot[0]!.steps.has(l));
  const atEqualLength = (rs: TimedRun[]) => median(lengths.map((l) => median(rs.map((r) => r.steps.get(l)!))));
  const first = icot[0]!.result;
  const inserted = first.usage.insertedTokens;
  const insertions = first.insertions.length;
  const insertionMs = median(icot.map((r) => r.result.timings.insertionMs / Math.max(1, r.result.insertions.length)));
  const steps = first.timings.decodeSteps;
  const p = perToken(plain);
  const i = perToken(icot);
  const pe = atEqualLength(plain);
  const ie = atEqualLength(icot);
  const text = [
    `${settings.label}: ${settings.maxNewTokens} new tokens, median of ${settings.rounds} alternating rounds`,
    table([
      ['', 'plain', 'ICoT', 'ICoT / plain'],
      ['decode ms/token, all text steps', p.toFixed(3), i.toFixed(3), (i / p).toFixed(3)],
      [`decode ms/token at equal cache length (${lengths.length} lengths)`, pe.toFixed(3), ie.toFixed(3), (ie / pe).toFixed(3)],
      ['total ms per answer', total(plain).toFixed(1), total(icot).toFixed(1), (total(icot) / total(plain)).toFixed(3)],
      ['tokens fed after the prompt', String(steps), String(steps + inserted), ((steps + inserted) / steps).toFixed(3)],
    ]),
    `ICoT: ${insertions} insertions of ${inserted / Math.max(1, insertions)} tokens, ${insertionMs.toFixed(2)} ms each (selection + the block's forward pass)`,
  ].join('\n');
  return {
    text,
    rows: [
      { name: 'plain-decode-ms-per-token', value: p, unit: 'ms' },
      { name: 'icot-decode-ms-per-token', value: i, unit: 'ms' },
      { name: 'icot-vs-plain-decode', value: i / p, unit: 'ratio' },
      { name: 'icot-vs-plain-decode-at-equal-cache', value: ie / pe, unit: 'ratio' },
      { name: 'icot-vs-plain-total', value: total(icot) / total(plain), unit: 'ratio' },
      { name: 'ms-per-insertion', value: insertionMs, unit: 'ms' },
    ],
  };
}
